/**
 * `rtune run` on other prompt and text shapes: unpaired contrast sets filtered by correct_only (demo model), a
 * by_label contrast with lm token loss, projection_cosine and generate evals on stories260K, and CRLF perplexity
 * text read as LF or raw. The stories260K tests skip without the shared data.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runConfig } from '../../job/runner';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';
import type { JobEvent } from '../../protocol/job';
import { load } from './run-experiment';

describe('rtune run (job runner): contrast sets and text data', () => {
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
    // With the personas swapped no pair is answered as intended: the section fails and says what to check.
    const [none] = await runConfig(config, ['none'], { file });
    assert.equal(none?.status, 'failed');
    assert.match(none?.headline ?? '', /prompts swapped: correct_only kept none of the \d+ pairs.*Check the personas/);
  });

  it(
    'runs a by_label contrast on stories260K: lm token loss, projection_cosine and generate evals',
    { skip: missingShared('llama2c-stories260K', 'stories260K.bin') },
    async () => {
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
      assert.deepEqual(
        summaries.map((s) => `${s.kind}:${s.status}`),
        ['direction:done', 'tune:done', 'eval:done'],
      );
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
    },
  );
  it(
    'reads CRLF perplexity text as its LF copy by default, and as raw bytes with newlines raw',
    { skip: missingShared('tinystories-excerpt', 'TinyStories-valid-excerpt.txt') },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-run-'));
      // The shared excerpt has CRLF line endings; a short slice keeps the run to a few seconds.
      const crlf = fs.readFileSync(sharedData('tinystories-excerpt', 'TinyStories-valid-excerpt.txt'), 'utf8').slice(0, 3000);
      const n = crlf.split('\r\n').length - 1;
      assert.ok(n > 0, 'the excerpt has CRLF line endings');
      fs.writeFileSync(path.join(dir, 'crlf.txt'), crlf);
      fs.writeFileSync(path.join(dir, 'lf.txt'), crlf.replace(/\r\n/g, '\n'));
      const ppl = (name: string, data: string, extra = '') =>
        `eval ${name} {\n  perplexity {\n    data "${data}"\n    max_length 128\n    stride 64\n    batch 4\n${extra}  }\n}\n`;
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
      assert.ok(
        logs.some((m) => m.startsWith(`eval crlf: ${path.join(dir, 'crlf.txt')}: read ${n} CRLF line ending(s) as LF`)),
        logs.join('\n'),
      );
      assert.ok(!logs.some((m) => m.startsWith('eval lf:')), 'no note for LF text');
    },
  );
});
