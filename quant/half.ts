/**
 * Exact widening of IEEE float16 and bfloat16 bit patterns to float32 (every
 * half value is a float32 value, so no rounding happens).
 */

const F16_TABLE = buildF16Table();

function buildF16Table(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    let v: number;
    if (e === 0) v = m * 2 ** -24;
    else if (e === 31) v = m === 0 ? Infinity : NaN;
    else v = 2 ** (e - 15) * (1 + m / 1024);
    t[h] = sign * v;
  }
  return t;
}

export function float16ToFloat32(h: number): number {
  return F16_TABLE[h & 0xffff]!;
}

export function float16ToFloat32Array(raw: Uint16Array): Float32Array {
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = F16_TABLE[raw[i]!]!;
  return out;
}

/** bfloat16 is the top half of a float32 bit pattern. */
export function bfloat16ToFloat32Array(raw: Uint16Array): Float32Array {
  const out = new Float32Array(raw.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < raw.length; i++) bits[i] = raw[i]! << 16;
  return out;
}
