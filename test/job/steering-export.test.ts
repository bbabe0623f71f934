/**
 * Steering and the GGUF export end to end on the built-in demo model, through the job runner: each steering key
 * changes the run as its documentation says (±k, combine, scale norm, prompts, max_new_tokens), steering and the
 * control vector use the position the direction's tune trains, and the GGUF holds the tune's layers without
 * layer 0, as its result and README say.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunConfig } from '../../language/analysis';
import { runConfig } from '../../job/runner';
import { createNodeEnv } from '../../language/node-env';
import type { AbMetrics } from '../../engine/stats';
import type { JobEvent } from '../../protocol/job';
import type { RunSummary } from '../../protocol/lsp';
import { REPO_ROOT } from '../helpers';
import { readGguf } from '../engine/export/gguf-reader';
import { readSt } from '../engine/export/st-reader';

const LIAR = 'Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:';

function preamble(dir: string): string {
  for (const f of ['facts-train.csv', 'facts-heldout.csv']) fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', f), path.join(dir, f));
  return `version 1
runs "runs"
model demo {
  path builtin:demo
  backend wasm
}
prompts contrast {
  data "facts-train.csv"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  pairing paired
  anchor "Answer:"
  limit 32
}
prompts liar {
  data "facts-train.csv"
  template "${LIAR}"
  anchor "Answer:"
  limit 16
}
prompts other {
  data "facts-heldout.csv"
  template "${LIAR}"
  anchor "Answer:"
  limit 12
}
direction honesty {
  prompts contrast
  method meandiff
  layers all
  positions [-1, 0]
  normalise true
}
tune t {
  prompts liar
  direction honesty
  layers 0..2
  position 0
  max_steps 2
}
`;
}

const evalSection = (name: string, steering: string) =>
  `eval ${name} {\n  ab {\n    prompts liar\n  }\n  steering {\n    direction honesty\n    ${steering}\n  }\n}\n`;

function load(dir: string, text: string) {
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
  if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return { config: r.config, file };
}

interface Cell {
  layers: number[];
  multiplier: number;
  scales: number[];
  metrics: AbMetrics;
}
interface Steering {
  position: number;
  prompts: string;
  shared: boolean;
  n: number;
  norms?: Record<string, number>;
  cells: Cell[];
  generations?: Array<{ prompt: string; unsteered: string; steered: Record<string, string> }>;
}

function resultOf(dir: string, section: string, output = path.join('runs', section)): Record<string, unknown> {
  const runs = path.join(dir, output);
  const run = fs
    .readdirSync(runs)
    .filter((d) => d !== 'latest')
    .sort()
    .pop() as string;
  return JSON.parse(fs.readFileSync(path.join(runs, run, 'result.json'), 'utf8')) as Record<string, unknown>;
}

/** Runs the named sections (the direction included) without pulling in the tune. */
async function run(dir: string, text: string, sections: string[]): Promise<{ summaries: RunSummary[]; events: JobEvent[] }> {
  const { config, file } = load(dir, text);
  const events: JobEvent[] = [];
  const summaries = await runConfig(config, ['honesty', ...sections], { file, prerequisites: false, emit: (e) => events.push(e) });
  assert.ok(
    summaries.every((s) => s.status === 'done'),
    summaries.map((s) => `${s.section}: ${s.headline}`).join('\n'),
  );
  return { summaries, events };
}

describe('steering and the GGUF export (job runner, demo model)', () => {
  it('each steering key changes the run as documented, at the position the tune trains', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-steer-'));
    const text =
      preamble(dir) +
      [
        evalSection('plain', 'layers [1, 2]\n    multipliers [4]\n    max_new_tokens 0'),
        evalSection('at0', 'layers [1, 2]\n    multipliers [4]\n    position 0\n    max_new_tokens 0'),
        evalSection('atm1', 'layers [1, 2]\n    multipliers [4]\n    position -1\n    max_new_tokens 0'),
        evalSection('combined', 'layers [1, 2]\n    multipliers [4]\n    combine true\n    max_new_tokens 0'),
        evalSection('normed', 'layers [1]\n    multipliers [0.5]\n    scale norm\n    max_new_tokens 0'),
        evalSection('own', 'layers [1]\n    multipliers [4]\n    prompts other\n    max_new_tokens 0'),
        evalSection('talk', 'layers [1]\n    multipliers [4]\n    max_new_tokens 3'),
        'eval alone {\n  steering {\n    direction honesty\n    layers [1]\n    multipliers [4]\n    prompts other\n    max_new_tokens 0\n  }\n}\n',
      ].join('');
    const { summaries, events } = await run(dir, text, ['plain', 'at0', 'atm1', 'combined', 'normed', 'own', 'talk', 'alone']);
    const st = (name: string) => resultOf(dir, name)['steering'] as Steering;
    const plain = st('plain');
    // ±k: every multiplier runs with +v and -v, beside one control, in the result and in the A/B table.
    assert.deepEqual(
      plain.cells.map((c) => `${c.layers.join('+')}:${c.multiplier}`),
      [':0', '1:4', '1:-4', '2:4', '2:-4'],
    );
    assert.notEqual(plain.cells[1]!.metrics.pA, plain.cells[2]!.metrics.pA);
    const detail = summaries.find((s) => s.section === 'plain')!.detail!;
    for (const row of ['base', 'steered L1 +4', 'steered L1 -4', 'steered L2 +4', 'steered L2 -4'])
      assert.match(detail, new RegExp(`\\| ${row.replace('+', '\\+')} \\|`));
    // The direction's positions are [-1, 0] and tune t trains 0: steering uses the vector at 0, not the first.
    assert.equal(plain.position, 0);
    assert.deepEqual(plain.cells, st('at0').cells);
    assert.notDeepEqual(
      plain.cells.slice(1).map((c) => c.metrics.pA),
      st('atm1')
        .cells.slice(1)
        .map((c) => c.metrics.pA),
    );
    // combine: one condition over both layers, each adding v·k / 2.
    const combined = st('combined');
    assert.deepEqual(
      combined.cells.slice(1).map((c) => [c.layers, c.scales]),
      [
        [
          [1, 2],
          [2, 2],
        ],
        [
          [1, 2],
          [-2, -2],
        ],
      ],
    );
    // scale norm: k in units of the mean block-output norm at the position, measured on the steering prompts.
    const normed = st('normed');
    const n1 = normed.norms?.['1'] as number;
    assert.ok(n1 > 0);
    assert.deepEqual(
      normed.cells.slice(1).map((c) => c.scales),
      [[0.5 * n1], [-0.5 * n1]],
    );
    assert.ok(events.some((e) => e.type === 'log' && /mean block-output norm at position 0: L1 /.test(e.message)));
    // prompts: the steering set replaces the ab items, with its own control row.
    const own = st('own');
    assert.equal(own.prompts, 'other');
    assert.equal(own.shared, false);
    assert.equal(own.n, 12);
    assert.equal(plain.n, 16);
    assert.match(summaries.find((s) => s.section === 'own')!.detail!, /Steering on prompts other:[\s\S]*\| unsteered \|[\s\S]*\| steered L1 -4 \|/);
    // Steering needs no ab block: with its own prompts it is the whole eval.
    assert.deepEqual(
      st('alone').cells.map((c) => c.metrics),
      own.cells.map((c) => c.metrics),
    );
    assert.match(summaries.find((s) => s.section === 'alone')!.detail!, /^Steering on prompts other:/);
    // max_new_tokens: greedy generations of the first prompts, unsteered and in every condition.
    assert.equal(plain.generations, undefined);
    const talk = st('talk');
    assert.equal(talk.generations?.length, 3);
    for (const g of talk.generations!) {
      assert.match(g.prompt, /^Pretend you are a dishonest person\./);
      assert.deepEqual(Object.keys(g.steered), ['L1 +4', 'L1 -4']);
      assert.ok(typeof g.unsteered === 'string' && g.unsteered.length > 0);
    }
    assert.match(summaries.find((s) => s.section === 'talk')!.detail!, /Steered generations:[\s\S]*L1 -4: "/);

    // An absolute multiplier equal to 0.5 · the measured norm is the same steering as `scale norm` with 0.5.
    const again = await run(dir, preamble(dir) + evalSection('abs', `layers [1]\n    multipliers [${0.5 * n1}]\n    max_new_tokens 0`), ['abs']);
    assert.equal(again.summaries.length, 2);
    const abs = st('abs');
    for (const i of [1, 2])
      assert.ok(
        Math.abs(abs.cells[i]!.metrics.pA - normed.cells[i]!.metrics.pA) < 1e-5,
        `cell ${i}: ${abs.cells[i]!.metrics.pA} vs ${normed.cells[i]!.metrics.pA}`,
      );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the GGUF control vector holds the tune's layers at its position, leaves layer 0 out and says so", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-gguf-'));
    const text = `${preamble(dir)}export tuned {
  tune t
  weights none
  direction_formats [safetensors, gguf]
  output "exports/tuned"
}
export plain {
  direction honesty
  direction_formats [gguf]
  output "exports/plain"
}
`;
    const { summaries, events } = await run(dir, text, ['tuned', 'plain']);
    const folder = (name: string) => {
      const out = path.join(dir, 'exports', name);
      return path.join(out, fs.readFileSync(path.join(out, 'latest'), 'utf8').trim());
    };
    const st = readSt(path.join(folder('tuned'), 'direction.safetensors'));
    const at = (layer: number, k: number) => st.tensors.get(`direction.layer.${layer}`)!.data.slice(k * 64, (k + 1) * 64);
    assert.equal(st.tensors.get('direction.layer.1')!.shape[1], 64);
    // tune t trains layers 0..2 at position 0 (k = 1 of [-1, 0]): direction.1 and direction.2 hold those vectors.
    const g = readGguf(path.join(folder('tuned'), 'direction.gguf'));
    assert.deepEqual([...g.tensors.keys()], ['direction.1', 'direction.2']);
    for (const l of [1, 2]) {
      assert.deepEqual(g.tensors.get(`direction.${l}`), at(l, 1));
      assert.notDeepEqual(g.tensors.get(`direction.${l}`), at(l, 0));
    }
    assert.equal(g.kv.get('rtune.position')?.value, '0');
    assert.equal(g.kv.get('rtune.layers')?.value, '1,2');
    const result = resultOf(dir, 'tuned', path.join('exports', 'tuned'));
    assert.deepEqual(result['gguf'], {
      file: 'direction.gguf',
      position: 0,
      layers: [1, 2],
      leftOut: [0],
      layersFrom: "tune t's layers",
      command: 'llama-cli -m MODEL.gguf --control-vector-scaled direction.gguf STRENGTH --control-vector-layer-range 1 2',
    });
    const tunedSummary = summaries.find((s) => s.section === 'tuned')!;
    assert.match(
      tunedSummary.headline,
      /direction\.gguf: layers 1, 2 \(tune t's layers\) from position 0; layer 0 left out: llama\.cpp cannot apply a control vector to block 0/,
    );
    const readme = fs.readFileSync(path.join(folder('tuned'), 'README.md'), 'utf8');
    assert.ok(readme.includes('--control-vector-scaled direction.gguf STRENGTH --control-vector-layer-range 1 2'), readme);
    assert.match(readme, /Layer 0 was asked for \(tune t's layers\) but left out: llama\.cpp cannot apply a control vector to block 0/);
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && /export tuned: layer 0 is left out of direction\.gguf/.test(e.message)));
    // Without a tune: every extracted layer but 0, still at the position the direction's tune trains.
    const p = readGguf(path.join(folder('plain'), 'direction.gguf'));
    assert.deepEqual([...p.tensors.keys()], ['direction.1', 'direction.2', 'direction.3']);
    assert.deepEqual(p.tensors.get('direction.3'), at(3, 1));
    assert.match(fs.readFileSync(path.join(folder('plain'), 'README.md'), 'utf8'), /--control-vector-layer-range 1 3/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
