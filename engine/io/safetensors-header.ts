/**
 * safetensors header reading: the file's bytes, handed to the pure parser and validator (model/safetensors-header.ts:
 * the 8-byte length, the JSON header, the check that the tensors tile the data section exactly), plus the
 * exact-read helpers the tensor reader uses. Errors mirror the reference crate's `SafetensorsError` kinds.
 */

import * as fs from 'node:fs';
import { describeError, openForReading as openFile } from '../../common/fs';
import { parseSafetensorsHeader, safetensorsHeaderLength } from '../../model/safetensors-header';
import { SafetensorsError, type SafetensorsHeader } from './safetensors-format';

/** Reads and validates the header of one safetensors file without reading tensor data. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForReading(file);
  try {
    return readHeaderFromFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

export function openForReading(file: string): number {
  return openFile(file, (message) => new SafetensorsError('io', file, message));
}

export function readHeaderFromFd(fd: number, file: string): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  const headerBytes = safetensorsHeaderLength(fileSize >= 8 ? readExactly(fd, file, 0, 8) : new Uint8Array(0), fileSize, file);
  return parseSafetensorsHeader(readExactly(fd, file, 8, headerBytes), fileSize, file);
}

function readExactly(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  readInto(fd, file, position, out);
  return out;
}

export function readInto(fd: number, file: string, position: number, target: Uint8Array, tensor?: string): void {
  let done = 0;
  while (done < target.length) {
    let n: number;
    try {
      n = fs.readSync(fd, target, done, target.length - done, position + done);
    } catch (err) {
      throw new SafetensorsError('io', file, `${file}: read failed at byte ${position + done} (${describeError(err)}).`, tensor);
    }
    if (n === 0) {
      throw new SafetensorsError(
        'truncated',
        file,
        `${file}: file ended at byte ${position + done} while reading${tensor ? ` tensor "${tensor}"` : ''}; the file was truncated or is still being written.`,
        tensor,
      );
    }
    done += n;
  }
}
