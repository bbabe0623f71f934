/**
 * `compare` sections: one table over the results of several evals, read from their run folders (result.json),
 * never computed again. The eval folders are those written in this run (the evals are its prerequisites, planned
 * before it); when the run did not include an eval (prerequisites off), the newest finished folder of that eval
 * whose config.json equals the eval's config now. The table goes to the run folder as `comparison.json` and
 * `comparison.md`, and to the summary's detail (which `rtune run` prints after the run summary).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CompareConfig, EvalConfig } from '../../protocol/contract';
import type { RunSummary } from '../../protocol/lsp';
import type { SectionContext } from '../context';
import { writeJsonAtomic, writeTextAtomic } from '../run-folder';
import { comparisonRows, comparisonMarkdown, type EvalResult } from '../compare-table';

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The newest done run folder of eval `e` under its output whose config.json is `e`, or undefined. */
function finishedEvalFolder(e: EvalConfig): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(e.output).filter((n) => !n.startsWith('.'));
  } catch {
    return undefined;
  }
  const want = JSON.stringify(e);
  const found = names
    .map((n) => path.join(e.output, n))
    .map((dir) => ({ dir, summary: readJson(path.join(dir, 'summary.json')) as RunSummary | undefined }))
    .filter((x) => x.summary?.status === 'done' && x.summary.kind === 'eval' && x.summary.section === e.name)
    .filter((x) => JSON.stringify(readJson(path.join(x.dir, 'config.json'))) === want)
    .sort((a, b) => ((a.summary as RunSummary).finished < (b.summary as RunSummary).finished ? 1 : -1));
  return found[0]?.dir;
}

export async function runCompare(ctx: SectionContext, c: CompareConfig): Promise<RunSummary> {
  const folder = ctx.openFolder(c.output, c.name, 'compare', c);
  return ctx.guarded(folder, 'compare', async () => {
    const evals: EvalResult[] = [];
    for (const name of c.evals) {
      const e = ctx.config.evals[name] as EvalConfig;
      const dir = ctx.evalRuns.get(name) ?? finishedEvalFolder(e);
      if (dir === undefined) throw new Error(`compare ${c.name}: eval ${name} has no finished run with its current config under ${e.output}; run it first`);
      const summary = readJson(path.join(dir, 'summary.json')) as RunSummary | undefined;
      if (summary?.status !== 'done') throw new Error(`compare ${c.name}: eval ${name} (${dir}) ended ${summary?.status ?? 'without a summary'}, not done`);
      const result = readJson(path.join(dir, 'result.json'));
      if (result === undefined || typeof result !== 'object') throw new Error(`compare ${c.name}: ${path.join(dir, 'result.json')} is missing or unreadable`);
      evals.push({ name, tune: e.tuned, dir: path.resolve(dir), result: result as Record<string, unknown> });
      ctx.emit({ type: 'log', level: 'info', message: `compare ${c.name}: eval ${name} from ${dir}` }, folder);
    }
    const table = comparisonRows(evals);
    const md = comparisonMarkdown(table);
    writeJsonAtomic(path.join(folder.dir, 'comparison.json'), table);
    writeTextAtomic(path.join(folder.dir, 'comparison.md'), `${md}\n`);
    const metrics: Record<string, number> = {};
    for (const r of table.rows) {
      const first = table.sets[0] !== undefined ? r.ab[table.sets[0]] : undefined;
      if (first) metrics[`honest:${r.label}`] = first.honest;
      if (r.ppl) metrics[`pplDeltaPct:${r.label}`] = r.ppl.deltaPct;
    }
    return folder.finish('done', table.headline, { metrics, result: table, detail: md });
  });
}
