/**
 * File helpers shared by the engine's readers (safetensors, llama2.c) and writers (safetensors, exports) and by
 * run folders (job/run-folder.ts, which the extension loads too): opening for reading and atomic writes (temp
 * sibling, fsync, rename). Each caller supplies its own error type, so a failure still says what it concerns.
 * This module imports Node built-ins only, so the extension can use it without loading the compute engine.
 */
import * as fs from 'node:fs';

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Opens `file` for reading; `fail(message)` builds the error thrown when it cannot. */
export function openForReading(file: string, fail: (message: string) => Error): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    throw fail(`${file}: cannot open for reading (${describeError(err)}). Check the path.`);
  }
}

/**
 * Writes `chunks` to `file` atomically: a temporary sibling is written chunk by chunk (an iterable may produce
 * them lazily, so a large file is never held whole), fsynced and renamed into place. On failure the temporary
 * file is removed, `file` is left as it was, and `fail(message, err)` builds the error thrown.
 */
export function writeFileAtomicWith(file: string, chunks: Iterable<Uint8Array>, fail: (message: string, err: unknown) => Error): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing; report the first error */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* best effort */
    }
    throw fail(`${file}: write failed (${describeError(err)}). Check free disk space and permissions.`, err);
  }
}
