/**
 * Steering directions as safetensors (the safe replacement for the research's pickles, METHOD.md §4.7 and §11.14):
 * one tensor `direction.layer.{L}` of shape [positions, hidden] per layer L (block output, 0-based), rows in window
 * order (oldest to newest), plus string metadata describing where they came from (model, tokenizer hash, template,
 * layers, positions, method, data hash, N, ...). The file records `rtune_format`, `layers` and `hidden_size`
 * itself; caller metadata is kept as given. Written atomically (via writeSafetensors).
 *
 * Non-goals: a direction registry or search; dtypes other than F32; validating what the metadata claims.
 */

import { readSafetensors, writeSafetensors, type TensorToWrite } from '../io/safetensors';
import { ExportError } from './atomic';

export const DIRECTIONS_FORMAT = 'rtune-directions/1';
const NAME = /^direction\.layer\.(\d+)$/;

export function directionTensorName(layer: number): string {
  return `direction.layer.${layer}`;
}

/** Writes directions: `directions.get(L)[k]` is the vector of layer L at window position k. */
export function writeDirectionsSafetensors(file: string, directions: ReadonlyMap<number, ReadonlyArray<Float32Array>>, metadata: Record<string, string>): void {
  if (directions.size === 0) throw new ExportError(file, `${file}: no directions to write.`);
  const layers = [...directions.keys()].sort((x, y) => x - y);
  let hidden = -1;
  const tensors: TensorToWrite[] = [];
  for (const layer of layers) {
    if (!Number.isInteger(layer) || layer < 0) throw new ExportError(file, `${file}: layer ${layer} must be a non-negative integer.`);
    const rows = directions.get(layer) ?? [];
    if (rows.length === 0) throw new ExportError(file, `${file}: layer ${layer} has no positions.`);
    for (const [k, row] of rows.entries()) {
      if (hidden === -1) hidden = row.length;
      if (row.length !== hidden || hidden === 0) {
        throw new ExportError(file, `${file}: layer ${layer} position ${k} has ${row.length} values, expected ${hidden} (the hidden size).`);
      }
    }
    const data = new Float32Array(rows.length * hidden);
    rows.forEach((row, k) => data.set(row, k * hidden));
    tensors.push({ name: directionTensorName(layer), shape: [rows.length, hidden], data });
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new ExportError(file, `${file}: metadata "${key}" must be a string (found ${typeof value}).`);
  }
  writeSafetensors(file, tensors, {
    layers: layers.join(','),
    hidden_size: String(hidden),
    ...metadata,
    rtune_format: DIRECTIONS_FORMAT,
  });
}

export interface DirectionsFile {
  /** Layer -> one vector per window position. */
  directions: Map<number, Float32Array[]>;
  metadata: Record<string, string>;
}

/** Reads a file written by writeDirectionsSafetensors (tensors with other names are ignored). */
export function readDirectionsSafetensors(file: string): DirectionsFile {
  const { tensors, metadata } = readSafetensors(file, { only: (name) => NAME.test(name) });
  const directions = new Map<number, Float32Array[]>();
  for (const [name, t] of tensors) {
    const layer = Number((NAME.exec(name) ?? [])[1]);
    if (t.shape.length !== 2) throw new ExportError(file, `${file}: tensor ${name} has shape [${t.shape.join(', ')}], expected [positions, hidden].`);
    const [positions, hidden] = t.shape as [number, number];
    directions.set(
      layer,
      Array.from({ length: positions }, (_, k) => t.data.slice(k * hidden, (k + 1) * hidden)),
    );
  }
  return { directions: new Map([...directions].sort((x, y) => x[0] - y[0])), metadata };
}
