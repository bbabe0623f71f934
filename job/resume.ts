/**
 * Resuming a block search: the finished trials of the newest earlier run of the same search, read back from its
 * run folder. Non-goals: running trials (job/sections/search.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRunState } from '../common/run-status';
import type { JobEvent, SearchTrial } from '../protocol/job';

/**
 * Trials of the newest earlier run of a search in `output` (other than `current`) when that run did not finish and
 * was made with the same configuration; otherwise none. Reads `config.json`, its state (readRunState: cancelled,
 * failed or interrupted) and the `trial` events. Skipped runs are passed over.
 */
export function resumableTrials(output: string, current: string, config: unknown): { from: string; trials: SearchTrial[] } {
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(output)
      .filter((n) => n !== current)
      .sort();
  } catch {
    return { from: '', trials: [] };
  }
  // A skipped run ran nothing: look past it. A run still running in another process is not resumed from.
  const prev = names.reverse().find((n) => !n.startsWith('.') && readRunState(path.join(output, n)).status !== 'skipped');
  if (prev === undefined) return { from: '', trials: [] };
  const dir = path.join(output, prev);
  try {
    const status = readRunState(dir).status;
    if (status === 'done' || status === 'running') return { from: prev, trials: [] };
    if (fs.readFileSync(path.join(dir, 'config.json'), 'utf8').trim() !== JSON.stringify(config, null, 2).trim()) return { from: prev, trials: [] };
    const trials: SearchTrial[] = [];
    for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
      try {
        const e = JSON.parse(line) as JobEvent;
        if (e.type === 'trial') trials.push(e);
      } catch {
        // a torn last line from a crash
      }
    }
    return { from: prev, trials };
  } catch {
    return { from: prev, trials: [] };
  }
}
