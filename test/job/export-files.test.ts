/**
 * What `export` sections write, through the job runner: the direction's files carry everything the direction
 * section wrote (model, method, data and its sha256, ...) plus layers, offsets, the direction's name and the tune;
 * a full export of a tuned demo model carries the source's config.json and tokenizer files and reloads in rtune
 * with exactly the tuned tensors (those the 'changed' export lists, in the blocks the tune trains); a llama2.c
 * source (stories260K) exports its tokenizer and a README that does not pretend transformers loads the .bin.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, modelToTensors } from '../../engine/model/load';
import { runConfig } from '../../job/runner';
import { loadRunConfig } from '../../language/analysis';
import { createNodeEnv } from '../../language/node-env';
import { missingShared, REPO_ROOT, sharedData } from '../helpers';
import { readGguf } from '../engine/export/gguf-reader';
import { readSt } from '../engine/export/st-reader';

const DEMO = path.join(REPO_ROOT, 'examples', 'demo-model');

async function run(dir: string, text: string, sections: string[]): Promise<void> {
  const file = path.join(dir, 'exp.rtune');
  fs.writeFileSync(file, text);
  const r = loadRunConfig(text, { baseDir: dir, builtinRoot: REPO_ROOT, env: createNodeEnv() });
  if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const summaries = await runConfig(r.config, sections, { file });
  assert.ok(
    summaries.every((s) => s.status === 'done'),
    summaries.map((s) => `${s.section}: ${s.status} ${s.headline}`).join('\n'),
  );
}

/** The newest run folder under `dir/out` (an export's `latest`, else the newest stamped folder). */
function newest(dir: string, out: string): string {
  const root = path.join(dir, out);
  const latest = path.join(root, 'latest');
  if (fs.existsSync(latest)) return path.join(root, fs.readFileSync(latest, 'utf8').trim());
  const runs = fs
    .readdirSync(root)
    .filter((d) => d !== 'latest')
    .sort();
  return path.join(root, runs[runs.length - 1] as string);
}

const DEMO_FILE = (dir: string) => {
  fs.copyFileSync(path.join(DEMO, 'data', 'facts-train.csv'), path.join(dir, 'facts.csv'));
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
  limit 16
}
prompts liar {
  data "facts.csv"
  template "Pretend you are a dishonest person.\\nIs this claim true or false? {statement}\\nA) True\\nB) False\\nAnswer:"
  anchor "Answer:"
  limit 16
}
direction honesty {
  prompts contrast
  method meandiff
  layers all
  positions [-1, 0]
}
tune t {
  prompts liar
  direction honesty
  layers 1..2
  position -1
  token_loss { blocks [down] }
  projection_loss { blocks [v] }
  max_steps 2
}
export full {
  tune t
  weights full
  direction_formats [safetensors, gguf]
  output "exports/full"
}
export delta {
  tune t
  weights changed
  direction_formats []
  output "exports/delta"
}
`;
};

describe('export sections write what they claim (job runner)', () => {
  it('demo: direction metadata in full, config.json and tokenizer carried, the full export reloads with the tuned tensors', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-export-files-'));
    await run(dir, DEMO_FILE(dir), ['full', 'delta']);
    const full = newest(dir, path.join('exports', 'full'));
    const delta = newest(dir, path.join('exports', 'delta'));

    // direction.safetensors: every key the direction's run folder wrote, the same values, plus the export's own.
    const own = readSt(path.join(newest(dir, path.join('runs', 'honesty')), 'direction.safetensors')).metadata ?? {};
    const exported = readSt(path.join(full, 'direction.safetensors')).metadata ?? {};
    for (const [k, v] of Object.entries(own)) assert.equal(exported[k], v, k);
    const sha = createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'facts.csv')))
      .digest('hex');
    assert.equal(exported['model'], DEMO);
    assert.equal(exported['method'], 'meandiff');
    assert.equal(exported['data_sha256'], sha);
    assert.equal(exported['layers'], '0,1,2,3');
    assert.equal(exported['offsets'], '-1,0');
    assert.equal(exported['direction'], 'honesty');
    assert.equal(exported['tune'], 't');
    // The control vector carries the same provenance (llama.cpp ignores rtune.* keys); layers/position are its own.
    const g = readGguf(path.join(full, 'direction.gguf'));
    assert.equal(g.kv.get('rtune.model')?.value, DEMO);
    assert.equal(g.kv.get('rtune.method')?.value, 'meandiff');
    assert.equal(g.kv.get('rtune.data_sha256')?.value, sha);
    assert.equal(g.kv.get('rtune.tune')?.value, 't');
    assert.equal(g.kv.get('rtune.layers')?.value, '1,2');
    assert.equal(g.kv.get('rtune.position')?.value, '-1');

    // config.json and the tokenizer: the demo model's own files.
    const model = path.join(full, 'model');
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      assert.ok(fs.readFileSync(path.join(model, f)).equals(fs.readFileSync(path.join(DEMO, f))), f);
    }
    assert.deepEqual(
      JSON.parse(fs.readFileSync(path.join(delta, 'model', 'config.json'), 'utf8')),
      JSON.parse(fs.readFileSync(path.join(DEMO, 'config.json'), 'utf8')),
    );

    // Reloaded in rtune: the tensors that differ from the base are exactly the delta's, with the delta's values,
    // and they are the blocks the tune trains (down for the token loss, v for the projection loss, layers 1-2).
    const base = loadModel(DEMO);
    const tuned = loadModel(model);
    try {
      assert.deepEqual(tuned.config, base.config);
      const b = await modelToTensors(base);
      const t = await modelToTensors(tuned);
      const changed = [...t].filter(([name, x]) => !Buffer.from(x.data.buffer).equals(Buffer.from((b.get(name) as { data: Float32Array }).data.buffer)));
      const d = readSt(path.join(delta, 'model', 'model.safetensors')).tensors;
      assert.deepEqual(changed.map(([n]) => n).sort(), [...d.keys()].sort());
      assert.deepEqual([...d.keys()].sort(), [
        'model.layers.1.mlp.down_proj.weight',
        'model.layers.1.self_attn.v_proj.weight',
        'model.layers.2.mlp.down_proj.weight',
        'model.layers.2.self_attn.v_proj.weight',
      ]);
      for (const [name, x] of changed) assert.deepEqual(x.data, d.get(name)?.data, name);
    } finally {
      base.dispose();
      tuned.dispose();
    }
    assert.match(fs.readFileSync(path.join(model, 'README.md'), 'utf8'), /AutoTokenizer\.from_pretrained/);
    // result.json says what model/ holds and where config.json came from.
    const result = JSON.parse(fs.readFileSync(path.join(full, 'result.json'), 'utf8')) as { model: { mode: string; config: unknown; files: string[] } };
    assert.equal(result.model.mode, 'full');
    assert.deepEqual(result.model.config, { from: path.join(DEMO, 'config.json'), changed: {} });
    assert.ok(result.model.files.includes('tokenizer.json'));
    // The export folder's README says which weights model/ holds.
    assert.match(fs.readFileSync(path.join(full, 'README.md'), 'utf8'), /`model\/`: the tuned model as a complete Hugging Face folder/);
    assert.match(fs.readFileSync(path.join(delta, 'README.md'), 'utf8'), /`model\/`: the tensors the tune changed/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'stories260K (llama2.c): the export holds the tokenizer and a README with no transformers load of the .bin',
    { skip: missingShared('llama2c-stories260K', 'stories260K.bin') },
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-export-l2c-'));
      fs.copyFileSync(path.join(REPO_ROOT, 'examples', 'data', 'stories-mood.csv'), path.join(dir, 'mood.csv'));
      const text = `version 1
runs "runs"
model stories {
  path "${sharedData('llama2c-stories260K', 'stories260K.bin')}"
  tokenizer "${sharedData('llama2c-stories260K', 'tok512.bin')}"
  backend wasm
}
prompts mood {
  data "mood.csv"
  template "{statement}"
  pairing by_label
  limit 8
}
direction mood {
  prompts mood
  method meandiff
  layers all
  positions 0
}
tune cheer {
  prompts mood
  direction mood
  layers 2..3
  position 0
  token_loss { target lm  blocks [down] }
  projection_loss { blocks [o] }
  max_steps 1
}
export release {
  tune cheer
  weights changed
  output "exports/release"
}
`;
      await run(dir, text, ['release']);
      const model = path.join(newest(dir, path.join('exports', 'release')), 'model');
      assert.ok(fs.readFileSync(path.join(model, 'tokenizer.bin')).equals(fs.readFileSync(sharedData('llama2c-stories260K', 'tok512.bin'))));
      assert.ok(fs.existsSync(path.join(model, 'tokenizer.json')));
      const readme = fs.readFileSync(path.join(model, 'README.md'), 'utf8');
      assert.doesNotMatch(readme, /from_pretrained\("[^"]*\.bin"\)/, readme);
      assert.match(readme, /transformers cannot load/);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  );
});
