/**
 * Atomic file and folder writes for exports: a file is written to a temporary sibling, fsynced and renamed into
 * place; a folder is built in a temporary sibling and renamed into place in one step, so readers never see a
 * half-written export (a crash leaves at most a `.NAME.tmp-<pid>-*` folder beside it, never a partial NAME; the next
 * run removes it once that pid is gone: common/run-status.ts `cleanOutputFolder`).
 *
 * Non-goals: cross-filesystem moves, locking against concurrent writers of the same folder, Windows' rename
 * semantics for open files.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeError, writeFileAtomicWith } from '../../common/fs';

/** Raised for every export failure; `file` is the path concerned. */
export class ExportError extends Error {
  constructor(
    readonly file: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ExportError';
  }
}

export { describeError };

/** Writes `chunks` to `file` atomically (temp file in the same folder, fsync, rename); failures are ExportErrors. */
export function writeFileAtomic(file: string, chunks: string | Uint8Array | ReadonlyArray<Uint8Array>): void {
  const list = typeof chunks === 'string' ? [Buffer.from(chunks, 'utf8')] : chunks instanceof Uint8Array ? [chunks] : chunks;
  writeFileAtomicWith(file, list, (message, err) => new ExportError(file, message, err));
}

/**
 * Throws unless `dir` may be (re)placed by an export: it does not exist, is an empty folder, or holds `marker`
 * (a previous export of the same kind). Anything else is the user's data and is never overwritten.
 */
export function checkReplaceable(dir: string, marker: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return;
  }
  if (!stat.isDirectory()) throw new ExportError(dir, `${dir}: exists and is not a folder; choose another output path.`);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0 || entries.includes(marker)) return;
  throw new ExportError(
    dir,
    `${dir}: folder is not empty and is not a previous export (no ${marker}); refusing to overwrite it. ` + 'Choose a new output folder or empty this one.',
  );
}

/**
 * Builds a folder atomically: `fill` writes into a fresh temporary sibling of `outDir`, which then replaces
 * `outDir` by rename (a previous export there is moved aside first and deleted after the swap). On any failure
 * the temporary folder is removed and `outDir` is left as it was.
 */
export async function buildFolderAtomic<T>(outDir: string, marker: string, fill: (tmpDir: string) => Promise<T> | T): Promise<T> {
  const target = path.resolve(outDir);
  checkReplaceable(target, marker);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-${process.pid}-`));
  try {
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; the export is an ordinary folder
    const result = await fill(tmp);
    checkReplaceable(target, marker); // it may have changed while we wrote
    if (fs.existsSync(target)) {
      const old = `${tmp}.old`;
      fs.renameSync(target, old);
      try {
        fs.renameSync(tmp, target);
      } catch (err) {
        fs.renameSync(old, target);
        throw err;
      }
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
    return result;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (err instanceof ExportError) throw err;
    throw new ExportError(target, `${target}: export failed (${describeError(err)}); nothing was written there.`, err);
  }
}
