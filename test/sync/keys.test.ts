/**
 * Every key of the `.rtune` language means what its hover says. The sync test walks the schema: each key is either
 * marked editor-only (with a reason) or has an entry in key-checks.ts; a key with neither, or with both, fails, and
 * so does an entry for a key the schema lacks. The behaviour tests run each `run` check: the experiment twice,
 * differing only in that key, must differ as documented. RTUNE_KEYS=tune.optimizer runs only matching keys.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT_KEYS, SECTIONS, type KeySpec } from '../../language/schema';
import { REPO_ROOT } from '../helpers';
import { baseExperiment, runExperiment, withKey, type Outcome } from './experiment';
import { KEY_CHECKS, type RunCheck } from './key-checks';

/** Every leaf key of the schema by dotted path (`tune.optimizer.eps`; root keys bare), with its spec. */
function schemaKeys(): Map<string, KeySpec> {
  const out = new Map<string, KeySpec>();
  const visit = (prefix: string, keys: readonly KeySpec[]): void => {
    for (const k of keys) {
      if (k.type.kind === 'block') visit(`${prefix}${k.name}.`, k.type.keys);
      else out.set(`${prefix}${k.name}`, k);
    }
  };
  visit('', ROOT_KEYS);
  for (const s of SECTIONS) visit(`${s.kind}.`, s.keys);
  return out;
}

describe('every key is accounted for', () => {
  const keys = schemaKeys();
  it('each schema key is editor-only with a reason, or has a behaviour check; not both', () => {
    const problems: string[] = [];
    for (const [name, spec] of keys) {
      const check = KEY_CHECKS[name];
      if (spec.editorOnly !== undefined && spec.editorOnly.trim().length < 10) problems.push(`${name}: editorOnly needs a reason`);
      if (spec.editorOnly === undefined && check === undefined)
        problems.push(`${name}: consumed by runs but has no check in test/sync/key-checks.ts (add one), or mark it editorOnly with a reason`);
      if (spec.editorOnly !== undefined && check !== undefined) problems.push(`${name}: editor-only keys have no run check`);
    }
    for (const name of Object.keys(KEY_CHECKS)) if (!keys.has(name)) problems.push(`${name}: checked in key-checks.ts but not in the schema`);
    assert.deepEqual(problems, []);
  });
  it('each test reference names a test that exists', () => {
    for (const [name, c] of Object.entries(KEY_CHECKS)) {
      if (!('test' in c)) continue;
      const file = path.join(REPO_ROOT, c.test);
      assert.ok(fs.existsSync(file), `${name}: ${c.test} does not exist`);
      assert.ok(fs.readFileSync(file, 'utf8').includes(`'${c.name}'`), `${name}: ${c.test} has no test named '${c.name}'`);
    }
  });
});

describe('two runs differing only in one key differ as documented', () => {
  const only = process.env['RTUNE_KEYS'];
  const base = baseExperiment();
  const cache = new Map<string, Promise<Outcome>>();
  const baseRun = (sections: string[]): Promise<Outcome> => {
    const k = sections.join(',');
    if (!cache.has(k)) cache.set(k, runExperiment(base, sections));
    return cache.get(k) as Promise<Outcome>;
  };
  for (const [name, c] of Object.entries(KEY_CHECKS)) {
    if (!('value' in c)) continue;
    if (only !== undefined && !name.startsWith(only)) continue;
    const check = c as RunCheck;
    it(name, async () => {
      const sections = check.run ?? [check.section as string];
      const compare = check.compare ?? (check.section as string);
      const key = name.includes('.') ? name.split('.').slice(1).join('.') : name;
      const a = await baseRun(sections);
      const b = await runExperiment(withKey(base, check.section, key, check.value), sections);
      assert.ok(a.runs[compare] !== undefined && b.runs[compare] !== undefined, `both runs have a ${compare} run folder`);
      if (check.expect) check.expect(a, b, compare);
      else assert.notDeepEqual(b.runs[compare], a.runs[compare], `${name} ${check.value ?? '(removed)'} changed nothing in what ${compare} left`);
      fs.rmSync(b.dir, { recursive: true, force: true });
    });
  }
});
