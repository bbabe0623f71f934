/**
 * The worker as the packaged extension runs it: scripts/package.mjs stages the .vsix layout (bundles, demo model,
 * dist/node_modules with tfjs and the webgpu package's Dawn binary) into a temporary folder with no node_modules
 * above it, and the staged dist/worker.js runs the demo's direction section
 * - with `rtune.backend` webgpu: on Dawn, where an adapter exists (lavapipe in CI; without one the test skips,
 *   and RTUNE_REQUIRE_WEBGPU=1 makes that a failure);
 * - with `auto` where no Vulkan driver can be found: on wasm, and the job log says webgpu found no adapter.
 * The stage reuses the bundles of `npm run build` (--no-build) and stops before vsce (--no-vsix).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startWorkerJob, type WorkerJobOptions } from '../../client/worker-process';
import type { JobEvent } from '../../protocol/job';

const root = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-packaged-'));
const stage = path.join(tmp, 'rtune');
const dawnDir = `${process.platform}-${process.platform === 'darwin' ? 'universal' : process.arch}`;

function request(backend: 'webgpu' | 'auto'): WorkerJobOptions['request'] {
  const file = path.join(stage, 'examples', 'demo.rtune');
  const text = fs
    .readFileSync(file, 'utf8')
    .replace('runs "runs"\n', '')
    .replace(/limit \d+/g, 'limit 40');
  return { file, text, sections: ['honesty'], backend, threads: 1, runsFolder: path.join(tmp, 'runs'), builtinRoot: stage, maxMemoryBytes: 0 };
}

async function run(backend: 'webgpu' | 'auto', env: Record<string, string> = {}): Promise<{ status: string; message?: string; log: string[] }> {
  const events: JobEvent[] = [];
  const job = startWorkerJob({ workerPath: path.join(stage, 'dist', 'worker.js'), request: request(backend), env, onEvent: (e) => events.push(e) });
  const outcome = await job.done;
  return { ...outcome, log: events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message) };
}

describe('the packaged worker', { concurrency: false }, () => {
  before(() => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--no-build', '--no-vsix', '--stage', stage], { cwd: root, stdio: 'pipe' });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("ships the webgpu package with this platform's Dawn binary, and nothing above the stage provides one", () => {
    const webgpu = path.join(stage, 'dist', 'node_modules', 'webgpu');
    assert.ok(fs.existsSync(path.join(webgpu, 'dist', dawnDir, 'dawn.node')), `dist/node_modules/webgpu/dist/${dawnDir}/dawn.node is staged`);
    assert.ok(fs.existsSync(path.join(webgpu, 'index.js')));
    assert.ok(fs.existsSync(path.join(stage, 'dist', 'node_modules', '@tensorflow', 'tfjs-backend-webgpu')));
    for (let d = tmp; path.dirname(d) !== d; d = path.dirname(d)) {
      assert.ok(!fs.existsSync(path.join(d, 'node_modules', 'webgpu')), `${d}/node_modules/webgpu would shadow the staged package`);
    }
  });

  it('runs a job on webgpu from the packaged layout where an adapter exists', async (t) => {
    const r = await run('webgpu');
    if (r.status === 'failed' && /no GPU adapter/.test(r.message ?? '')) {
      if (process.env['RTUNE_REQUIRE_WEBGPU'] === '1') assert.fail(`RTUNE_REQUIRE_WEBGPU=1 but the packaged worker found no adapter: ${r.message}`);
      t.skip('no webgpu adapter on this machine');
      return;
    }
    assert.equal(r.status, 'done', r.message);
    assert.ok(
      r.log.some((m) => /^model demo: .* on .*\(webgpu via Dawn, (hardware|software) adapter\)$/.test(m)),
      `the job log says it ran on webgpu:\n${r.log.join('\n')}`,
    );
  });

  it(
    'falls back to wasm where Dawn finds no adapter, and the job log says why',
    { skip: process.platform !== 'linux' && 'no way to hide the GPU driver here' },
    async () => {
      const r = await run('auto', { VK_ICD_FILENAMES: path.join(tmp, 'none.json'), VK_DRIVER_FILES: path.join(tmp, 'none.json') });
      assert.equal(r.status, 'done', r.message);
      assert.ok(
        r.log.some((m) => /^model demo: .* on CPU \(wasm/.test(m)),
        r.log.join('\n'),
      );
      assert.ok(
        r.log.some((m) => /webgpu: no GPU adapter/.test(m)),
        `the log names the reason:\n${r.log.join('\n')}`,
      );
    },
  );
});
