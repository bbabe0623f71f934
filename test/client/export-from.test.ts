/**
 * "Export…" from the palette with a chosen tune run (stubbed vscode, the real worker): the extension lists the
 * export's finished tune runs, and the export written from the chosen one carries that run's tuned tensors, not
 * the newest run's, without training. The client's copy of the checkpoint file names agrees with job/checkpoint.ts.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { readSafetensors } from '../../engine/io/safetensors';
import { CHECKPOINT_FILE, CHECKPOINT_TENSORS } from '../../job/checkpoint';
import { runConfig } from '../../job/runner';
import { experiment, load } from '../job/run-experiment';
import { document, extensionContext, installVscodeStub, stub } from './stub-vscode';

installVscodeStub();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ext = require('../../client/extension') as typeof import('../../client/extension');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const folders = require('../../client/run-folders') as typeof import('../../client/run-folders');

const root = path.resolve(__dirname, '..', '..', '..');
let ctx: { subscriptions: { dispose(): void }[] } | undefined;

describe('Export… from a chosen tune run (stubbed vscode)', { concurrency: false }, () => {
  afterEach(() => {
    for (const d of ctx?.subscriptions ?? []) d.dispose();
    stub.reset();
  });

  it('the client names the checkpoint files job/checkpoint.ts writes', () => {
    assert.deepEqual([...folders.TUNE_CHECKPOINT_FILES], [CHECKPOINT_FILE, CHECKPOINT_TENSORS]);
  });

  it('offers the finished runs of the export tune and exports the chosen one without training', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-ext-from-'));
    const text = experiment(dir, 3).replace(/export again \{[^}]*\}\n/, '');
    const a = load(dir, text);
    await runConfig(a.config, ['truthful'], { file: a.file });
    const textB = text.replace('lr_token 3e-3', 'lr_token 5e-3');
    const b = load(dir, textB);
    await runConfig(b.config, ['truthful'], { file: b.file });
    const runs = folders.finishedTuneRuns(path.join(dir, 'runs', 'truthful'), 'truthful');
    assert.equal(runs.length, 2);
    const [newest, older] = runs as [(typeof runs)[0], (typeof runs)[0]];

    stub.config['threads'] = 1;
    stub.config['backend'] = 'wasm';
    stub.activeDocument = document(b.file, textB);
    stub.answers.quickPick = 2; // the older run (lr 3e-3), not the one the file's inputs match
    ctx = extensionContext(root) as typeof ctx;
    const api = await ext.activate(ctx as never);
    const id = await stub.commands.get('rtune.runExport')?.();
    assert.equal(typeof id, 'number');
    assert.deepEqual(
      stub.quickPicks[0]?.items.map((i) => i.label),
      ['Tune truthful as the file says', newest.id, older.id],
    );
    const job = api.jobs.queue.running;
    assert.ok(job);
    assert.match(job.title, new RegExp(`^Export: release from ${older.id}$`));
    assert.deepEqual(await job.finished, { status: 'done' });
    const exportsDir = path.join(dir, 'exports', 'release');
    const latest = fs.readFileSync(path.join(exportsDir, 'latest'), 'utf8').trim();
    const exported = readSafetensors(path.join(exportsDir, latest, 'model', 'model.safetensors')).tensors;
    const of = (run: string) => readSafetensors(path.join(run, CHECKPOINT_TENSORS)).tensors;
    const same = (x: Float32Array, y: Float32Array) =>
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    for (const [name, t] of of(older.dir)) assert.ok(same(exported.get(name)!.data, t.data), `${name} is the chosen run's`);
    assert.ok(
      [...of(newest.dir)].some(([name, t]) => !same(exported.get(name)!.data, t.data)),
      'not the newest run',
    );
    assert.equal(fs.readdirSync(path.join(dir, 'runs', 'truthful')).length, 2, 'nothing trained');
    // The tune it used is shown as if it had just run: its steps replayed from its folder into the panels' state.
    assert.equal(api.state.runs.get(older.id)?.status, 'done');
    assert.equal(api.state.runs.get(newest.id), undefined);
    assert.ok(api.state.counts.points >= 3, JSON.stringify(api.state.counts));
    // Run Fresh… on the tune: trained again although a finished run with these inputs exists.
    stub.answers.quickPick = 1; // [direction honesty, tune truthful, eval check, search blocks, export release]
    await stub.commands.get('rtune.runFresh')?.();
    assert.equal(stub.quickPicks[1]?.items[1]?.label, 'tune truthful');
    const fresh = api.jobs.queue.running;
    assert.ok(fresh);
    assert.deepEqual(await fresh.finished, { status: 'done' });
    assert.equal(fs.readdirSync(path.join(dir, 'runs', 'truthful')).length, 3, 'trained again');
    assert.equal(fs.readdirSync(path.join(dir, 'runs', 'honesty')).length, 2, 'its direction extracted again');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
