/**
 * Running a check as a user who cannot write a folder: as is when the tests are not root; as root (the CI
 * machine), through setpriv as `nobody`. `unprivileged(probe)` gives the command prefix, or the reason the test
 * must be skipped: root without setpriv, or a checkout `nobody` cannot read (the probe, a Node script that
 * reads what the check will need, fails).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export function unprivileged(probe: string): { prefix: string[] } | { skip: string } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));
  if (setpriv === undefined) return { skip: 'running as root without setpriv: root writes any folder, so no folder is unwritable' };
  const prefix = [setpriv, '--reuid=65534', '--regid=65534', '--clear-groups'];
  const r = spawnSync(prefix[0] as string, [...prefix.slice(1), process.execPath, '-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `nobody cannot run the check from this checkout (${(r.stderr || r.error?.message || '').split('\n')[0]})` };
  return { prefix };
}

/** `command args…` run with `prefix` (from `unprivileged`). */
export function spawnAs(prefix: readonly string[], command: string, args: readonly string[], env?: NodeJS.ProcessEnv): ReturnType<typeof spawnSync> {
  return prefix.length === 0
    ? spawnSync(command, args, { encoding: 'utf8', ...(env !== undefined ? { env } : {}) })
    : spawnSync(prefix[0] as string, [...prefix.slice(1), command, ...args], { encoding: 'utf8', ...(env !== undefined ? { env } : {}) });
}
