/**
 * The checks before compute as editor diagnostics (language/preflight.ts over the real Node environment): each
 * case is a caret-marked fixture in a temporary folder holding a copy of the demo model (config.json, weights,
 * tokenizer), CSVs and files in the way; `⟦…⟧` marks exactly where each diagnostic must be. Also: the cache of
 * CSV heads and weights headers is keyed by mtime (an edit on disk is seen, an unchanged file is not re-read),
 * and an unwritable folder is reported when the check runs as a user who cannot write it (as root, through
 * setpriv as `nobody`; skipped, with the reason, where that is impossible).
 */

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyze, type Analysis } from '../../language/analysis';
import { createNodeEnv, type NodeEnv } from '../../language/node-env';
import { parseCsvHead } from '../../language/csv-header';
import type { Diagnostic } from '../../language/text';
import { marked, repoRoot, sharedData, summarize } from './helpers';
import { spawnAs, unprivileged } from '../unprivileged';

const DEMO = path.join(repoRoot, 'examples', 'demo-model');
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/** A document over the temporary folder: the model, two prompt sets on a good CSV, one direction. */
function doc(over: { runs?: string; path?: string; contrast?: string; train?: string; extra?: string } = {}): string {
  return `runs ${over.runs ?? '"runs"'}
model demo {
  path ${over.path ?? '"model"'}
}
prompts contrast {
  ${over.contrast ?? 'data "facts.csv"'}
  template "{persona} {statement} Answer: {label}"
  positive { persona "honest" }
  negative { persona "liar" }
}
prompts train {
  ${over.train ?? 'data "facts.csv"'}
  template "{statement} Answer:"
}
direction honesty {
  prompts contrast
}
${over.extra ?? ''}`;
}

/** Rewrites a safetensors file's header with `edit` applied to its JSON, keeping the header length. */
function rewriteHeader(file: string, edit: (h: Record<string, { shape: number[] }>) => void): void {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { shape: number[] }>;
  edit(header);
  const text = JSON.stringify(header).padEnd(n, ' ');
  assert.equal(Buffer.byteLength(text), n, 'the edited header keeps its length');
  Buffer.from(text, 'utf8').copy(buf, 8);
  fs.writeFileSync(file, buf);
}

describe('checks before compute, as diagnostics', () => {
  let dir: string;
  let env: NodeEnv;
  const run = (text: string): Analysis => analyze(text, { baseDir: dir, builtinRoot: repoRoot, env });
  const only = (a: Analysis): Diagnostic[] => a.diagnostics.filter((d) => d.code === 'preflight');

  /** Exactly the marked spans carry diagnostics, all from the checks before compute, each matching `pattern`. */
  const expectAt = (source: string, pattern: RegExp, severity: 'error' | 'warning' = 'error'): Diagnostic[] => {
    const m = marked(source);
    const a = run(m.text);
    const got = a.diagnostics.map((d) => d.span);
    assert.deepEqual(got, m.spans, summarize(a.diagnostics, m.text).join('\n'));
    for (const d of a.diagnostics) {
      assert.equal(d.code, 'preflight', summarize([d], m.text)[0]);
      assert.equal(d.severity, severity, summarize([d], m.text)[0]);
      assert.match(d.message, pattern);
    }
    return [...a.diagnostics];
  };

  const copyModel = (name: string): string => {
    const to = path.join(dir, name);
    fs.mkdirSync(to);
    for (const f of MODEL_FILES) fs.copyFileSync(path.join(DEMO, f), path.join(to, f));
    return to;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-preflight-'));
    fs.chmodSync(dir, 0o755);
    copyModel('model');
    fs.copyFileSync(path.join(repoRoot, 'test', 'language', 'fixtures', 'facts.csv'), path.join(dir, 'facts.csv'));
    fs.writeFileSync(path.join(dir, 'header.csv'), 'statement,label\n');
    fs.writeFileSync(path.join(dir, 'cols.csv'), 'text,truth\nWater is wet.,1\n');
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    fs.writeFileSync(path.join(dir, 'afile'), 'not a folder\n');
    // The default runs folder, writable by the unprivileged user of the last test too.
    fs.mkdirSync(path.join(dir, 'runs'));
    fs.chmodSync(path.join(dir, 'runs'), 0o777);
    env = createNodeEnv();
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a readable model, CSVs with rows and writable outputs give no diagnostics (the checks can pass)', () => {
    const a = run(doc());
    assert.deepEqual(summarize(a.diagnostics, a.document.text), []);
    assert.ok(a.config !== undefined);
  });

  it('a CSV with only a header row: on `data`, naming the file and the fix', () => {
    const [d] = expectAt(doc({ train: 'data ⟦"header.csv"⟧' }), /header\.csv has a header but no rows; add statements/);
    assert.ok(d?.message.includes(path.join(dir, 'header.csv')));
  });

  it('`text_column` naming a column the header lacks: on the key, listing the columns there are', () => {
    expectAt(
      doc({ train: 'data "cols.csv"\n  text_column ⟦"sentence"⟧\n  label_column "truth"' }),
      /no column "sentence" \(its columns: "text", "truth"\); set `text_column` to one of them/,
    );
    // Unwritten columns default to statement and label: both are reported on `data`.
    expectAt(doc({ train: 'data ⟦⟦"cols.csv"⟧⟧' }), /no column "(statement|label)".*set `(text|label)_column` to the column/);
  });

  it('`order_column` naming a column the header lacks: on the key', () => {
    expectAt(
      doc({
        extra:
          'prompts ordered {\n  data "cols.csv"\n  text_column "text"\n  label_column "truth"\n  order_column ⟦"order"⟧\n  template "{statement} A) {option_a} B) {option_b}"\n}\n',
      }),
      /no column "order" \(its columns: "text", "truth"\); set `order_column` to one of them/,
    );
  });

  it('an output that is a file, or lies under a file: on `output`', () => {
    expectAt(
      doc({ extra: 'tune t {\n  prompts train\n  direction honesty\n  layers 1\n  output ⟦"afile"⟧\n}\n' }),
      /afile is a file, not a folder; set `output` to a folder/,
    );
    expectAt(
      doc({ extra: 'tune t {\n  prompts train\n  direction honesty\n  layers 1\n  output ⟦"afile/sub"⟧\n}\n' }),
      /afile is a file, so the folder .*afile\/sub cannot be created/,
    );
  });

  it('a runs folder that is a file: on `runs`, once per section that writes there', () => {
    const ds = expectAt(doc({ runs: '⟦"afile"⟧' }), /cannot write the runs of `direction honesty`.*set `runs` to a folder/);
    assert.equal(ds.length, 1);
  });

  it('a model path where nothing exists: a warning on `path` (the run refuses it)', () => {
    expectAt(doc({ path: '⟦"models/absent"⟧' }), /model not found: nothing at .*models\/absent; a run stops here/, 'warning');
  });

  it('a missing llama2.c .bin is reported as missing, not as "needs `tokenizer`"', () => {
    const ds = expectAt(doc({ path: '⟦"absent.bin"⟧' }), /model not found: nothing at .*absent\.bin/, 'warning');
    assert.ok(!ds.some((d) => d.message.includes('needs `tokenizer`')));
  });

  it('a truncated safetensors file: on `path`, naming the file', () => {
    const m = copyModel('truncated');
    const file = path.join(m, 'model.safetensors');
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    expectAt(doc({ path: '⟦"truncated"⟧' }), /truncated\/model\.safetensors.*truncated.*re-download or re-save the model/);
  });

  it('a header that lies about a shape (its offsets still fit): on `path`, naming the tensor and what config.json implies', () => {
    const m = copyModel('lying');
    rewriteHeader(path.join(m, 'model.safetensors'), (h) => {
      const t = h['model.layers.0.self_attn.q_proj.weight'];
      assert.ok(t !== undefined && t.shape.length === 2);
      t.shape = [t.shape[0] as number, ...t.shape.slice(1)].map((d, i) => (i === 0 ? d / 2 : d * 2));
    });
    expectAt(doc({ path: '⟦"lying"⟧' }), /tensor "model\.layers\.0\.self_attn\.q_proj\.weight" has shape \[\d+, \d+\], but config\.json implies/);
  });

  it('a header whose dtype does not match its byte range: on `path`, naming the tensor', () => {
    const m = copyModel('dtype');
    rewriteHeader(path.join(m, 'model.safetensors'), (h) => {
      const t = h['model.norm.weight'] as unknown as { dtype: string };
      assert.equal(t.dtype, 'F32');
      t.dtype = 'F16';
    });
    expectAt(doc({ path: '⟦"dtype"⟧' }), /tensor "model\.norm\.weight": data_offsets .* span \d+ bytes but shape .* of F16 needs/);
  });

  it('a sharded model: read through its index; a shard it names that is missing is reported on `path`', () => {
    const m = copyModel('sharded');
    const shard = 'model-00001-of-00002.safetensors';
    fs.renameSync(path.join(m, 'model.safetensors'), path.join(m, shard));
    const buf = fs.readFileSync(path.join(m, shard));
    const names = Object.keys(JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as object).filter((n) => n !== '__metadata__');
    const index = (map: Record<string, string>): void => fs.writeFileSync(path.join(m, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    index(Object.fromEntries(names.map((n) => [n, shard])));
    const ok = run(doc({ path: '"sharded"' }));
    assert.deepEqual(summarize(only(ok), ok.document.text), []);
    // The index changed on disk (size and mtime): the weights are read again, with no cache flush.
    index({ ...Object.fromEntries(names.map((n) => [n, shard])), 'model.norm.weight': 'model-00002-of-00002.safetensors' });
    expectAt(doc({ path: '⟦"sharded"⟧' }), /model-00002-of-00002\.safetensors: shard file is missing; .*index\.json maps 1 tensor/);
  });

  it('a model folder without a tokenizer: on `path`, with the files it looked for', () => {
    const m = copyModel('notok');
    fs.rmSync(path.join(m, 'tokenizer.json'));
    expectAt(doc({ path: '⟦"notok"⟧' }), /has no tokenizer: .*none of tokenizer\.json, vocab\.json \+ merges\.txt.*copy the model's tokenizer files/);
  });

  it('empty perplexity data: on `data` of `perplexity`', () => {
    expectAt(
      doc({
        extra:
          'tune t {\n  prompts train\n  direction honesty\n  layers 1\n}\neval e {\n  tuned t\n  perplexity { data ⟦"empty.txt"⟧  max_length 64  stride 32 }\n}\n',
      }),
      /empty\.txt is empty; point `data` at a text file/,
    );
  });

  it('an empty lexicon: on `lexicon` of `generate.score`', () => {
    expectAt(
      doc({ extra: 'eval e {\n  generate {\n    prompts train\n    score { lexicon ⟦"empty.txt"⟧ }\n  }\n}\n' }),
      /empty\.txt is empty; point `lexicon` at a lexicon file \(one `WORD WEIGHT` entry per line/,
    );
  });

  const stories = path.join(sharedData, 'llama2c-stories260K');
  it(
    'a llama2.c checkpoint without a tokenizer next to it: on `path`; with tok512.bin beside it, none',
    { skip: fs.existsSync(stories) ? false : `missing ${stories}` },
    () => {
      const lone = path.join(dir, 'lone');
      fs.mkdirSync(lone);
      fs.copyFileSync(path.join(stories, 'stories260K.bin'), path.join(lone, 'stories260K.bin'));
      expectAt(doc({ path: '⟦"lone/stories260K.bin"⟧' }), /no llama2\.c tokenizer next to .*looked for tokenizer\.bin and tok512\.bin.*set `tokenizer`/);
      fs.copyFileSync(path.join(stories, 'tok512.bin'), path.join(lone, 'tok512.bin'));
      env.invalidate();
      const a = run(doc({ path: '"lone/stories260K.bin"' }));
      assert.deepEqual(summarize(only(a), a.document.text), []);
      // A checkpoint shorter than its header implies is refused on `path` too (model/llama2c.ts, as the loader does).
      fs.truncateSync(path.join(lone, 'stories260K.bin'), 100_000);
      const m = marked(doc({ path: '⟦"lone/stories260K.bin"⟧' }));
      const t = run(m.text);
      assert.deepEqual(
        t.diagnostics.map((d) => d.span),
        m.spans,
        summarize(t.diagnostics, m.text).join('\n'),
      );
      assert.match(t.diagnostics[0]?.message ?? '', /cannot use the model at .*stories260K\.bin: .*100000/);
    },
  );

  it('CSV heads and weights headers are cached by path and mtime: an unchanged file is not re-read, an edited one is', () => {
    const file = path.join(dir, 'cached.csv');
    fs.writeFileSync(file, 'statement,label\n');
    const text = doc({ train: 'data "cached.csv"' });
    assert.equal(only(run(text)).length, 1);
    const reads = env.dataReads;
    env.invalidate();
    assert.equal(only(run(text)).length, 1);
    assert.equal(env.dataReads, reads, 'nothing was read again');
    fs.writeFileSync(file, 'statement,label\nWater is wet.,1\n');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    env.invalidate();
    assert.deepEqual(only(run(text)), []);
    assert.equal(env.dataReads, reads + 1, 'the CSV alone was read again');
  });

  it('an unwritable folder is reported on `output` (run as a user who cannot write it)', (t) => {
    const ro = path.join(dir, 'readonly');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    const source = doc({ extra: 'tune t {\n  prompts train\n  direction honesty\n  layers 1\n  output ⟦"readonly/runs"⟧\n}\n' });
    const m = marked(source);
    const script = `const { analyze } = require(${JSON.stringify(path.join(repoRoot, 'out', 'language', 'analysis.js'))});
const { createNodeEnv } = require(${JSON.stringify(path.join(repoRoot, 'out', 'language', 'node-env.js'))});
const a = analyze(${JSON.stringify(m.text)}, { baseDir: ${JSON.stringify(dir)}, builtinRoot: ${JSON.stringify(repoRoot)}, env: createNodeEnv() });
process.stdout.write(JSON.stringify(a.diagnostics));`;
    const as = unprivileged(
      `require(${JSON.stringify(path.join(repoRoot, 'out', 'language', 'analysis.js'))}); require('fs').readdirSync(${JSON.stringify(dir)})`,
    );
    if ('skip' in as) {
      t.skip(as.skip);
      return;
    }
    const r = spawnAs(as.prefix, process.execPath, ['-e', script]);
    assert.equal(r.status, 0, String(r.stderr));
    const ds = JSON.parse(String(r.stdout)) as Diagnostic[];
    assert.deepEqual(
      ds.map((d) => d.span),
      m.spans,
      ds.map((d) => d.message).join('\n'),
    );
    assert.match(
      ds[0]?.message ?? '',
      /the folder .*readonly is not writable, so .*readonly\/runs cannot be created in it; set `output` to a folder you can write to/,
    );
  });
});

describe('the head of a CSV', () => {
  it('reads the header like the statements reader (quotes, CRLF) and tells a header-only file', () => {
    assert.deepEqual(parseCsvHead('statement,label\n'), { columns: ['statement', 'label'], hasRows: false });
    assert.deepEqual(parseCsvHead('statement,label\r\n\r\n'), { columns: ['statement', 'label'], hasRows: false });
    assert.deepEqual(parseCsvHead('"a ""b""",c\r\nx,1'), { columns: ['a "b"', 'c'], hasRows: true });
    assert.deepEqual(parseCsvHead('statement,label'), { columns: ['statement', 'label'], hasRows: false });
    assert.deepEqual(parseCsvHead(''), { columns: [], hasRows: false });
    assert.deepEqual(parseCsvHead('\ufeffstatement,label\nx,1'), { columns: ['statement', 'label'], hasRows: true });
    assert.deepEqual(parseCsvHead('statement,label\nWater', false), { columns: ['statement', 'label'], hasRows: true });
  });
});
