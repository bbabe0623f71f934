/**
 * `rtune run` end to end on the built-in demo model: a .rtune file with direction, tune, eval and export
 * sections runs through the job runner and leaves complete run folders; a cancelled run is marked cancelled.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunConfig } from '../../language/analysis';
import { runConfig } from '../../job/runner';
import { createNodeEnv } from '../../language/node-env';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';
import type { JobEvent } from '../../protocol/job';

function experiment(dir: string, maxSteps: number): string {
  fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'facts-train.csv'), path.join(dir, 'facts.csv'));
  fs.writeFileSync(path.join(dir, 'text.txt'), fs.readFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'heldout.txt'), 'utf8').slice(0, 1500));
  return `version 1
runs "runs"
model demo {
  path builtin:demo
  backend wasm
}
prompts contrast {
  data "facts.csv"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"
  positive { persona "Pretend you are an honest person." }
  negative { persona "Pretend you are a dishonest person." }
  pairing paired
  anchor "Answer:"
  limit 48
}
prompts liar {
  data "facts.csv"
  template "Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:"
  anchor "Answer:"
  limit 64
}
direction honesty {
  prompts contrast
  method meandiff
  layers all
  positions [-1, 0]
}
tune truthful {
  prompts liar
  direction honesty
  mode in
  layers 1..2
  position -1
  token_loss {
    target hard
    weight 1
    blocks [down]
  }
  projection_loss {
    weight 1
    blocks [v, o]
  }
  optimizer {
    lr_token 3e-3
    lr_projection 3e-3
  }
  batch 8
  epochs 20
  max_steps ${maxSteps}
  holdout 0.25
}
eval check {
  tuned truthful
  perplexity {
    data "text.txt"
    max_length 64
    stride 32
    batch 2
    bootstrap 200
  }
  ab {
    holdout true
  }
}
search blocks {
  tune truthful
  token_blocks [down]
  projection_blocks [v, o]
  strategy exhaustive
  steps_per_trial 3
  sample_prompt "Pretend you are a dishonest person.\\nIs this claim true or false? 12 is even.\\nA) True\\nB) False\\nAnswer:"
  sample_tokens 6
}
export release {
  tune truthful
  direction honesty
  weights changed
  direction_formats [safetensors, gguf]
  output "exports/release"
}
export again {
  direction honesty
  output "exports/release"
}
`;
}

function load(dir: string, text: string) {
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
  if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return { config: r.config, file };
}

describe('rtune run (job runner)', () => {
  it('runs direction, tune, eval and export into complete run folders, and the tuned model lies less', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 40));
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, [], { file, emit: (e) => events.push(e) });
    assert.deepEqual(summaries.map((s) => `${s.kind}:${s.status}`), ['direction:done', 'tune:done', 'eval:done', 'search:done', 'export:done', 'export:done']);
    // Every section's run is announced when it opens and when it ends, in order, with its final status.
    const opened = events.filter((e): e is Extract<JobEvent, { type: 'run' }> => e.type === 'run').map((e) => e.run);
    const ended = events.filter((e): e is Extract<JobEvent, { type: 'runEnd' }> => e.type === 'runEnd');
    assert.deepEqual(ended.map((e) => e.run), opened);
    assert.deepEqual(ended.map((e) => `${e.kind}:${e.status}`), summaries.map((s) => `${s.kind}:${s.status}`));
    assert.ok(events.some((e) => e.type === 'heatmap') && events.filter((e) => e.type === 'step').length === 40);
    // The tune reports the cosine with the direction at every extracted layer x position, before and after.
    const cos = (when: string) => events.find((e): e is Extract<JobEvent, { type: 'heatmap' }> => e.type === 'heatmap' && e.title.startsWith(`cosine with the direction ${when} tuning`));
    const before = cos('before');
    const after = cos('after');
    assert.ok(before && after, 'before and after heatmaps');
    assert.deepEqual(before.rows, after.rows);
    assert.equal(before.values.length, before.rows.length);
    assert.ok(before.values.flat().every((v) => Number.isFinite(v) && Math.abs(v) <= 1));
    const tuneEvents = events.filter((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step');
    const tunedLayer = tuneEvents[0]!.layers[0]!;
    const row = before.rows.indexOf(tunedLayer);
    const col = before.columns.indexOf(String(-1));
    // mode in: the tuned layer's held-out cosine at the trained position rises.
    assert.ok(after.values[row]![col]! > before.values[row]![col]!, `cosine at layer ${tunedLayer}: ${before.values[row]![col]} -> ${after.values[row]![col]}`);
    for (const section of ['honesty', 'truthful', 'check']) {
      const runs = fs.readdirSync(path.join(dir, 'runs', section));
      assert.equal(runs.length, 1);
      const run = path.join(dir, 'runs', section, runs[0] as string);
      for (const f of ['config.json', 'events.jsonl', 'status.json', 'summary.json']) assert.ok(fs.existsSync(path.join(run, f)), `${section}/${f}`);
      assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')).status, 'done');
      const lines = fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n');
      assert.ok(lines.every((l) => typeof (JSON.parse(l) as { type: unknown }).type === 'string'));
    }
    const check = summaries[2]!;
    assert.match(check.headline, /ppl .* → .*95% CI/);
    const m = check.metrics!;
    // The contrast set's negative persona is the liar; tuned toward honest answers at the honesty direction it lies less.
    assert.ok(m['honestTuned']! > m['honestBase']! + 0.3, `honest rate ${m['honestBase']} -> ${m['honestTuned']}`);
    // Two exports to the same output: two timestamped folders, neither overwritten, and `latest` names the second.
    const exportsDir = path.join(dir, 'exports', 'release');
    const stamps = fs.readdirSync(exportsDir).filter((d) => d !== 'latest').sort();
    assert.equal(stamps.length, 2, stamps.join(', '));
    for (const d of stamps) assert.match(d, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ(-\d+)?$/);
    const first = stamps.find((d) => fs.existsSync(path.join(exportsDir, d, 'model')))!;
    for (const f of ['model/model.safetensors', 'model/config.json', 'direction.safetensors', 'direction.gguf', 'summary.json']) assert.ok(fs.existsSync(path.join(exportsDir, first, f)), f);
    const latest = fs.readFileSync(path.join(exportsDir, 'latest'), 'utf8').trim();
    assert.ok(stamps.includes(latest) && latest !== first && fs.existsSync(path.join(exportsDir, latest, 'direction.safetensors')), `latest = ${latest}`);
    assert.ok(fs.lstatSync(path.join(exportsDir, 'latest')).isFile());
    // Every block-search trial carries a greedy sample generated with its tuned weights (at most 6 tokens).
    const trials = events.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    assert.equal(trials.length, 3); // token [down] x projection {v}, {o}, {v, o}
    for (const t of trials) assert.ok(t.sample.length > 0 && t.sample.length < 80, JSON.stringify(t.sample));
  });

  it('tunes at several positions, each against the direction extracted there', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 6).replace('position -1', 'position [-1, 0]'));
    assert.deepEqual(config.tunes['truthful']?.positions, [-1, 0]);
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, ['truthful'], { file, emit: (e) => events.push(e) });
    assert.deepEqual(summaries.map((s) => `${s.kind}:${s.status}`), ['direction:done', 'tune:done'], 'the direction runs first as a prerequisite');
    const steps = events.filter((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step');
    assert.equal(steps.length, 6);
    assert.ok(steps.every((e) => Number.isFinite(e.projectionLoss) && e.cosine.every(Number.isFinite)));
    // Two positions with their own directions give a different loss than the first position alone.
    const one = load(dir, experiment(dir, 6));
    const ev1: JobEvent[] = [];
    await runConfig(one.config, ['truthful'], { file: one.file, emit: (e) => ev1.push(e) });
    const first1 = ev1.find((e): e is Extract<JobEvent, { type: 'step' }> => e.type === 'step')!;
    assert.notEqual(first1.projectionLoss, steps[0]!.projectionLoss);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a search cancelled after its first trial resumes from it: the finished trial is not run again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 6));
    const ctl = new AbortController();
    const first: JobEvent[] = [];
    await runConfig(config, ['blocks'], { file, signal: ctl.signal, emit: (e) => { first.push(e); if (e.type === 'trial') ctl.abort(); } }).catch(() => undefined);
    const firstTrials = first.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    assert.equal(firstTrials.length, 1);
    const events: JobEvent[] = [];
    const summaries = await runConfig(config, ['blocks'], { file, emit: (e) => events.push(e) });
    assert.equal(summaries.find((s) => s.kind === 'search')?.status, 'done');
    assert.ok(events.some((e) => e.type === 'log' && /resuming .*: 1 finished trial\(s\) are not run again/.test(e.message)));
    const trials = events.filter((e): e is Extract<JobEvent, { type: 'trial' }> => e.type === 'trial');
    const searchRun = events.find((e): e is Extract<JobEvent, { type: 'run' }> => e.type === 'run' && e.kind === 'search')!;
    assert.equal(trials.length, 3, 'the resumed trial is re-announced, two more run');
    assert.ok(trials.every((t) => t.run === searchRun.run));
    assert.deepEqual(trials[0]?.projectionBlocks, firstTrials[0]?.projectionBlocks);
    assert.equal(trials[0]?.finalTokenLoss, firstTrials[0]?.finalTokenLoss);
    // The resumed trial is the recorded one (same timing), not a rerun.
    assert.equal(trials[0]?.seconds, firstTrials[0]?.seconds);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a cancelled tuning run leaves a readable run folder marked cancelled', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    const { config, file } = load(dir, experiment(dir, 500));
    const ctl = new AbortController();
    let steps = 0;
    const summaries = await runConfig(config, ['honesty', 'truthful'], {
      file, signal: ctl.signal, emit: (e) => { if (e.type === 'step' && ++steps === 3) ctl.abort(); },
    }).catch((e: unknown) => e);
    assert.ok(Array.isArray(summaries) ? summaries.some((s) => s.status === 'cancelled') : true);
    const run = path.join(dir, 'runs', 'truthful', fs.readdirSync(path.join(dir, 'runs', 'truthful'))[0] as string);
    assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'status.json'), 'utf8')).status, 'cancelled');
    assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'summary.json'), 'utf8')).status, 'cancelled');
    assert.ok(fs.readFileSync(path.join(run, 'events.jsonl'), 'utf8').trim().split('\n').length >= 3);
  });

  it('extracts from unpaired contrast sets with correct_only, reporting kept and dropped pairs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'demo-model', 'data', 'facts-train.csv'), path.join(dir, 'facts.csv'));
    const contrast = (name: string, honest: string, liar: string, correctOnly: boolean) => `prompts ${name} {
  data "facts.csv"
  template "{persona}\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer: {label}"
  positive { persona "${honest}" }
  negative { persona "${liar}" }
  pairing unpaired
  anchor "Answer:"
  limit 60
  correct_only ${correctOnly}
}
`;
    const H = 'Pretend you are an honest person.';
    const D = 'Pretend you are a dishonest person.';
    const text = `version 1
runs "runs"
model demo {
  path builtin:demo
  backend wasm
}
${contrast('good', H, D, true)}${contrast('swapped', D, H, true)}${contrast('plain', H, D, false)}
direction kept {
  prompts good
  layers all
  positions [-1]
}
direction everything {
  prompts plain
  layers all
  positions [-1]
}
direction none {
  prompts swapped
  layers all
  positions [-1]
}
`;
    const { config, file } = load(dir, text);
    const events: JobEvent[] = [];
    const [kept, all] = await runConfig(config, ['kept', 'everything'], { file, emit: (e) => events.push(e) });
    const rows = fs.readFileSync(path.join(dir, 'facts.csv'), 'utf8').trim().split('\n').slice(1, 61);
    const nTrue = rows.filter((r) => r.endsWith(',1')).length;
    const expected = 2 * Math.min(nTrue, 60 - nTrue);
    // Without the filter every matched pair is used; the demo model's honest persona answers truthfully and its
    // dishonest persona lies, so the filter keeps (nearly) all of them and says how many it dropped.
    assert.equal(all!.metrics!['pairs'], expected);
    const m = kept!.metrics!;
    assert.equal(m['pairsKept']! + m['pairsDropped']!, expected);
    assert.ok(m['pairsKept']! >= 0.9 * expected, `kept ${m['pairsKept']} of ${expected}`);
    assert.match(kept!.headline, new RegExp(`${m['pairsKept']} unpaired pairs; correct_only kept ${m['pairsKept']} of ${expected}`));
    assert.ok(events.some((e) => e.type === 'log' && /correct_only kept \d+ of \d+ pairs/.test(e.message)));
    // The persona difference is read at the token before "Answer:", where the unpaired mean difference separates held-in pairs.
    assert.ok(m['bestSeparation']! > 0.9, `separation ${m['bestSeparation']}`);
    // With the personas swapped no pair is answered as intended: the run fails and says what to check.
    await assert.rejects(runConfig(config, ['none'], { file }), /prompts swapped: correct_only kept none of the \d+ pairs.*Check the personas/);
  });

  it('runs a by_label contrast on stories260K: lm token loss, projection_cosine and generate evals', { skip: missingShared('llama2c-stories260K', 'stories260K.bin') }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    for (const f of ['stories-mood.csv', 'stories-sad-new.csv']) fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'data', f), path.join(dir, f));
    const bin = sharedData('llama2c-stories260K', 'stories260K.bin');
    const tok = sharedData('llama2c-stories260K', 'tok512.bin');
    const text = `version 1
runs "runs"
model stories {
  path "${bin}"
  tokenizer "${tok}"
  backend wasm
}
prompts mood {
  data "stories-mood.csv"
  template "{statement}"
  pairing by_label
}
prompts sad_new {
  data "stories-sad-new.csv"
  template "{statement}"
}
direction mood {
  prompts mood
  layers all
  positions 0
}
tune cheer {
  prompts mood
  direction mood
  layers 2..3
  position 0
  token_loss {
    target lm
    weight 1
    blocks [gate, up, down]
  }
  projection_loss {
    weight 1
    margin 0.3
    blocks [v, o]
  }
  optimizer {
    lr_token 3e-4
    lr_projection 3e-4
  }
  batch 8
  epochs 20
  max_steps 12
  holdout 0.25
}
eval moodcheck {
  tuned cheer
  projection_cosine {
    prompts sad_new
    limit 6
  }
  generate {
    prompts sad_new
    limit 2
    max_new_tokens 8
  }
}
`;
    const { config, file } = load(dir, text);
    const summaries = await runConfig(config, [], { file });
    assert.deepEqual(summaries.map((s) => `${s.kind}:${s.status}`), ['direction:done', 'tune:done', 'eval:done']);
    assert.match(summaries[0]!.headline, /\(40 by_label pairs\)/);
    const ev = summaries[2]!;
    const m = ev.metrics!;
    // Tuning the happy-minus-sad direction in raises the cosine on sad openings it never saw.
    assert.ok(m['projectionCosTuned']! > m['projectionCosBase']! + 0.03, `cos ${m['projectionCosBase']} -> ${m['projectionCosTuned']}`);
    assert.match(ev.detail!, /\| 2 \| -?\d\.\d{3} \| -?\d\.\d{3} \|/);
    const run = path.join(dir, 'runs', 'moodcheck', fs.readdirSync(path.join(dir, 'runs', 'moodcheck'))[0]!);
    const result = JSON.parse(fs.readFileSync(path.join(run, 'result.json'), 'utf8')) as {
      projection: { layers: number[]; n: number; base: { perLayer: number[] }; delta: { lo: number; hi: number } };
      generate: Array<{ prompt: string; base: string; tuned: string }>;
    };
    assert.deepEqual(result.projection.layers, [2, 3]);
    assert.equal(result.projection.n, 6);
    assert.ok(result.projection.delta.lo <= result.projection.delta.hi);
    assert.equal(result.generate.length, 2);
    assert.match(result.generate[0]!.prompt, /^Jack dropped his ice cream/);
    for (const g of result.generate) assert.ok(g.base.length > 0 && g.tuned.length > 0);
  });
  it('reads CRLF perplexity text as its LF copy by default, and as raw bytes with newlines raw', { skip: missingShared('tinystories-excerpt', 'TinyStories-valid-excerpt.txt') }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
    // The shared excerpt has CRLF line endings; a short slice keeps the run to a few seconds.
    const crlf = fs.readFileSync(sharedData('tinystories-excerpt', 'TinyStories-valid-excerpt.txt'), 'utf8').slice(0, 3000);
    const n = crlf.split('\r\n').length - 1;
    assert.ok(n > 0, 'the excerpt has CRLF line endings');
    fs.writeFileSync(path.join(dir, 'crlf.txt'), crlf);
    fs.writeFileSync(path.join(dir, 'lf.txt'), crlf.replace(/\r\n/g, '\n'));
    const ppl = (name: string, data: string, extra = '') => `eval ${name} {\n  perplexity {\n    data "${data}"\n    max_length 128\n    stride 64\n    batch 4\n${extra}  }\n}\n`;
    const text = `version 1
runs "runs"
model stories {
  path "${sharedData('llama2c-stories260K', 'stories260K.bin')}"
  tokenizer "${sharedData('llama2c-stories260K', 'tok512.bin')}"
  backend wasm
}
${ppl('lf', 'lf.txt')}${ppl('crlf', 'crlf.txt')}${ppl('raw', 'crlf.txt', '    newlines raw\n')}`;
    const { config, file } = load(dir, text);
    const events: JobEvent[] = [];
    await runConfig(config, [], { file, emit: (e) => events.push(e) });
    type Ppl = { base: number; tokens: number; newlines: { mode: string; crlf: number; cr: number } };
    const result = (name: string): Ppl => {
      const run = path.join(dir, 'runs', name, fs.readdirSync(path.join(dir, 'runs', name))[0]!);
      return (JSON.parse(fs.readFileSync(path.join(run, 'result.json'), 'utf8')) as { perplexity: Ppl }).perplexity;
    };
    const [lf, normalised, raw] = [result('lf'), result('crlf'), result('raw')];
    assert.deepEqual(lf.newlines, { mode: 'lf', crlf: 0, cr: 0 });
    assert.deepEqual(normalised.newlines, { mode: 'lf', crlf: n, cr: 0 });
    assert.deepEqual(raw.newlines, { mode: 'raw', crlf: n, cr: 0 });
    assert.equal(normalised.tokens, lf.tokens);
    assert.equal(normalised.base, lf.base);
    // Kept, every \r is a token of its own, and the model (trained on LF text) predicts them badly.
    assert.equal(raw.tokens, lf.tokens + n);
    assert.ok(raw.base > lf.base, `raw ${raw.base} vs LF ${lf.base}`);
    const logs = events.filter((e): e is Extract<JobEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
    assert.ok(logs.some((m) => m.startsWith(`eval crlf: ${path.join(dir, 'crlf.txt')}: read ${n} CRLF line ending(s) as LF`)), logs.join('\n'));
    assert.ok(!logs.some((m) => m.startsWith('eval lf:')), 'no note for LF text');
  });
});
