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
import { createNodeEnv } from '../../server/node-env';
import { REPO_ROOT } from '../helpers';
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
export release {
  tune truthful
  direction honesty
  weights changed
  direction_formats [safetensors, gguf]
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
    assert.deepEqual(summaries.map((s) => `${s.kind}:${s.status}`), ['direction:done', 'tune:done', 'eval:done', 'export:done']);
    assert.ok(events.some((e) => e.type === 'heatmap') && events.filter((e) => e.type === 'step').length === 40);
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
    const exportDir = fs.readdirSync(path.join(dir, 'exports')).map((d) => path.join(dir, 'exports', d))[0]!;
    for (const f of ['model/model.safetensors', 'model/config.json', 'direction.safetensors', 'direction.gguf', 'summary.json']) assert.ok(fs.existsSync(path.join(exportDir, f)), f);
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
});
