/**
 * Hub models in `.rtune` files, against the loopback Hub (fake-hub.ts): what the editor shows for an `hf:` path
 * (diagnostics and hover from the cache alone, never the network), the `revision` key (two runs differing only
 * in it resolve to different snapshots, record different commits and extract different directions), and
 * examples/hub.rtune run by the `rtune` command with HF_ENDPOINT at the loopback Hub and HF_HUB_CACHE in a temp
 * folder: a download, then an offline run from the cache.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hubCacheLookup, type HubSettings } from '../../hub/cache';
import { ensureHubModel } from '../../hub/download';
import { analyze, loadRunConfig } from '../../language/analysis';
import { hover } from '../../language/features/hover';
import { createNodeEnv } from '../../language/node-env';
import { runConfig } from '../../job/runner';
import type { JobEvent } from '../../protocol/job';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';
import { tinyGpt2Hub, type FakeHub } from './fake-hub';

const FIXTURE = 'hf-tiny-gpt2-random';
const skip = missingShared(FIXTURE);
const ID = 'hf:sshleifer/tiny-gpt2';

const modelText = (extra = ''): string => `version 1\nmodel tiny {\n  path "${ID}"\n${extra}  backend cpu\n}\n`;

describe('Hub models in .rtune files (loopback Hub)', { skip }, () => {
  let hub: FakeHub;
  let main: string;
  let v2: string;
  let settings: HubSettings;
  let dir: string;
  before(async () => {
    ({ hub, main, v2 } = tinyGpt2Hub(sharedData(FIXTURE)));
    await hub.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hubrun-'));
    settings = { cacheDir: path.join(dir, 'hf-cache'), endpoint: hub.url, token: undefined, offline: false };
  });
  after(() => hub.stop());

  const analyse = (text: string, s: HubSettings = settings) => analyze(text, { baseDir: dir, env: createNodeEnv({ hub: hubCacheLookup(s) }) });

  it('the editor reads the cache only: not cached is an information, offline and missing a warning, cached resolves to the snapshot', async () => {
    const text = modelText();
    const at = text.indexOf(ID) + 4;
    let a = analyse(text);
    const info = a.diagnostics.filter((d) => d.code === 'model');
    assert.equal(info.length, 1, JSON.stringify(a.diagnostics));
    assert.equal(info[0]?.severity, 'info');
    assert.match(
      info[0]?.message ?? '',
      /hf:sshleifer\/tiny-gpt2 at `main` is not in the cache \(.*models--sshleifer--tiny-gpt2 has no refs\/main\): a run downloads/,
    );
    assert.match(hover(a, at)?.markdown ?? '', /not cached in `.*hf-cache`\. A run downloads .* the editor does not ask the Hub/);
    const off = analyse(text, { ...settings, offline: true }).diagnostics.filter((d) => d.code === 'model');
    assert.equal(off[0]?.severity, 'warning');
    assert.match(off[0]?.message ?? '', /HF_HUB_OFFLINE is set: a run fails here/);
    assert.equal(hub.requests().length, 0, 'the editor sent no request');

    await ensureHubModel('sshleifer/tiny-gpt2', 'main', { settings });
    a = analyse(text);
    assert.deepEqual(
      a.diagnostics.filter((d) => d.severity !== 'hint'),
      [],
    );
    const md = hover(a, at)?.markdown ?? '';
    assert.match(md, new RegExp(`cached, commit \`${main}\`, 8 files`));
    assert.match(md, /2 layers/, md);
    assert.equal(a.models.get('tiny')?.path, path.join(settings.cacheDir, 'models--sshleifer--tiny-gpt2', 'snapshots', main));
    // Model checks work on the snapshot as on a folder: layer 5 of a 2-layer model is an error.
    const bad = analyse(`${text}prompts p { data "x.csv" template "{statement}" }\ndirection d { model tiny prompts p layers [5] }\n`);
    assert.ok(
      bad.diagnostics.some((d) => d.severity === 'error' && /layer/.test(d.message)),
      JSON.stringify(bad.diagnostics),
    );
  });

  it('`revision` only with hf: paths, and ids and revisions follow the Hub rules', () => {
    const folder = analyse('version 1\nmodel m {\n  path "models/gpt2"\n  revision "main"\n}\n');
    assert.ok(folder.diagnostics.some((d) => d.severity === 'error' && /`revision` is only used with a Hub model/.test(d.message)));
    for (const bad of ['hf:a/b/c', 'hf:org/na--me', 'hf:org/name.git', 'hf:', 'hf:org/ná']) {
      const a = analyse(`version 1\nmodel m {\n  path "${bad}"\n}\n`);
      assert.ok(
        a.diagnostics.some((d) => d.severity === 'error' && /is not a Hub model id/.test(d.message)),
        `${bad}: ${JSON.stringify(a.diagnostics)}`,
      );
    }
    const rev = analyse(modelText('  revision "a..b"\n'));
    assert.ok(rev.diagnostics.some((d) => d.severity === 'error' && /revision: `a\.\.b` is not a branch/.test(d.message)));
  });

  it('two runs differing only in `revision` resolve to different snapshots, record their commits and extract different directions', async () => {
    const data = path.join(dir, 'facts.csv');
    fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'data', 'demo-facts.csv'), data);
    const results: { commit: unknown; vectors: string; snapshot: string }[] = [];
    for (const revision of ['main', 'v2']) {
      const text =
        `version 1\nruns "runs-${revision}"\n` +
        modelText(`  revision "${revision}"\n`).replace('version 1\n', '') +
        'prompts p {\n  data "facts.csv"\n  template "{persona} Is it true? {statement} Answer: {label}"\n  positive { persona "Honest." }\n  negative { persona "Liar." }\n  anchor "Answer:"\n  limit 8\n}\n' +
        'direction d {\n  model tiny\n  prompts p\n  layers all\n  batch 8\n}\n';
      const loaded = loadRunConfig(text, { baseDir: dir, env: createNodeEnv({ hub: hubCacheLookup(settings) }) });
      assert.ok(!('errors' in loaded), JSON.stringify('errors' in loaded ? loaded.errors : ''));
      if ('errors' in loaded) return;
      const events: JobEvent[] = [];
      const [sum] = await runConfig(loaded.config, ['d'], {
        source: { text, analysis: loaded.analysis },
        hub: settings,
        emit: (e) => events.push(e),
        fresh: true,
      });
      assert.equal(sum?.status, 'done', sum?.headline);
      const runs = path.join(dir, `runs-${revision}`, 'd');
      const folder = path.join(runs, fs.readdirSync(runs)[0] as string);
      const inputs = JSON.parse(fs.readFileSync(path.join(folder, 'inputs.json'), 'utf8')) as { parts: { model: { hub: Record<string, unknown> } } };
      const logged = events.find((e) => e.type === 'log' && e.message.startsWith('model tiny: hf:sshleifer/tiny-gpt2'));
      assert.ok(logged, 'the run logs what the id resolved to');
      results.push({
        commit: inputs.parts.model.hub,
        vectors: fs.readFileSync(path.join(folder, 'direction.safetensors')).toString('base64'),
        snapshot: logged.type === 'log' ? logged.message : '',
      });
    }
    assert.deepEqual(results[0]?.commit, { repo: 'sshleifer/tiny-gpt2', revision: 'main', commit: main });
    assert.deepEqual(results[1]?.commit, { repo: 'sshleifer/tiny-gpt2', revision: 'v2', commit: v2 });
    assert.match(results[1]?.snapshot ?? '', new RegExp(`snapshots/${v2}`));
    assert.notEqual(results[0]?.vectors, results[1]?.vectors, 'different weights give a different direction');
  });

  it(
    'examples/hub.rtune runs with `rtune run` against the loopback Hub, then offline from the cache',
    { skip: fs.existsSync(path.join(REPO_ROOT, 'dist', 'cli.js')) ? false : 'dist/cli.js not built (npm run build)' },
    async () => {
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hubex-'));
      fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'hub.rtune'), path.join(work, 'hub.rtune'));
      fs.cpSync(path.join(REPO_ROOT, 'examples', 'data'), path.join(work, 'data'), { recursive: true });
      const cache = path.join(work, 'hf-cache');
      const env = { ...process.env, HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_HOME: path.join(work, 'hf-home'), HF_TOKEN: '', HF_HUB_OFFLINE: '' };
      // Asynchronously: the loopback Hub answers from this process's event loop.
      const rtune = (extra: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stderr: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtune.js'), 'run', path.join(work, 'hub.rtune'), ...args, '--threads', '1'], {
            env: { ...env, ...extra },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
          child.on('close', (status) => resolve({ status, stderr }));
        });
      hub.log.length = 0;
      const first = await rtune({}, 'honesty');
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stderr, /model hf:sshleifer\/tiny-gpt2: downloading 8 files, 5\.\d\d MB, from http:\/\/127\.0\.0\.1/);
      assert.match(first.stderr, /model tiny: hf:sshleifer\/tiny-gpt2 at main = commit [0-9a-f]{40} \(downloaded 8 files/);
      assert.ok(hub.requests().length > 0);
      assert.ok(fs.readlinkSync(path.join(cache, 'models--sshleifer--tiny-gpt2', 'snapshots', main, 'config.json')).startsWith('../../blobs/'));
      hub.log.length = 0;
      const second = await rtune({ HF_HUB_OFFLINE: '1' }, 'honesty', '--fresh');
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stderr, /at main = commit [0-9a-f]{40} \(cached\)/);
      assert.equal(hub.requests().length, 0, 'an offline run sends no request');
      // Offline with an empty cache: refused before anything is computed, naming what is missing.
      const third = await rtune({ HF_HUB_CACHE: path.join(work, 'empty'), HF_HUB_OFFLINE: '1' }, 'honesty');
      assert.notEqual(third.status, 0);
      assert.match(third.stderr, /not in the cache and HF_HUB_OFFLINE is set: no refs\/main in .*empty.*models--sshleifer--tiny-gpt2/);
    },
  );
});
