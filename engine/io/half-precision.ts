/**
 * Half-precision conversions between f32 and IEEE binary16 (F16) or bfloat16 (BF16): exact bit-level decoding
 * (a 65536-entry table for F16), round-to-nearest-even encoding. Used by the safetensors reader and writer and
 * tested bit by bit.
 */

let f16Table: Uint32Array | undefined;

/** f32 bit patterns of all 65536 f16 values, built once: exact, including subnormals, ±inf and NaN payloads. */
function halfToFloatTable(): Uint32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
  f16Table = table;
  return table;
}

/** IEEE binary16 bits -> binary32 bits. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // inf or NaN, payload kept
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal: value = mantissa * 2^-24. Normalise so the leading 1 becomes implicit.
  let e = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  mantissa &= 0x3ff;
  return (sign | ((e + 127) << 23) | (mantissa << 13)) >>> 0;
}

/** IEEE binary32 bits -> binary16 bits, round to nearest, ties to even; overflow gives ±inf, NaN stays NaN. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Result is an f16 subnormal (or zero): value = m * 2^(e - 14) in units of 2^-24.
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half; // rounding up to 0x400 yields the smallest normal, which is correct
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // may carry into inf, which is correct
  return sign | half;
}

/** IEEE binary32 bits -> bfloat16 bits, round to nearest, ties to even; NaN stays (quiet) NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const upper = x >>> 16;
  const rest = x & 0xffff;
  const rounded = rest > 0x8000 || (rest === 0x8000 && (upper & 1) === 1) ? upper + 1 : upper;
  return rounded & 0xffff;
}

export function f16ToF32(halves: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i]];
  return new Float32Array(bits.buffer);
}

export function bf16ToF32(halves: Uint16Array): Float32Array {
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return new Float32Array(bits.buffer);
}

export function f32ToF16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

export function f32ToBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}
