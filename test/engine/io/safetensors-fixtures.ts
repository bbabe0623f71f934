/** Shared by the safetensors tests: temporary files (removed after the run), hand-made headers, typed-error checks. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { SafetensorsError, type SafetensorsErrorKind } from '../../../engine/io/safetensors';

export const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-safetensors-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCounter = 0;
export function tmpFile(name: string): string {
  return path.join(tmpRoot, `${tmpCounter++}-${name}`);
}

/** Writes a file with an arbitrary header (object or raw text) and `dataBytes` zero bytes of data. */
export function rawFile(name: string, header: object | string, dataBytes: number, headerLength?: bigint): string {
  const file = tmpFile(name);
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return file;
}

export function expectError(fn: () => unknown, kind: SafetensorsErrorKind, file: string, tensor?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SafetensorsError, `expected SafetensorsError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.ok(err.message.includes(path.basename(file)), `message names the file: ${err.message}`);
    if (tensor !== undefined) {
      assert.ok(err.message.includes(tensor), `message names the tensor "${tensor}": ${err.message}`);
      assert.equal(err.tensor, tensor);
    }
    return true;
  });
}
