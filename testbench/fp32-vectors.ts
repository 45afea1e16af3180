import { intToFp32Bits, fp32AddBits } from '../quant/hwmodel/fp32.ts';
import { INT2FP_STAGES, type IntToFp32Config } from '../generator/blocks/int-to-fp32.ts';
import { FP32_ADD_STAGES } from '../generator/blocks/fp32-add.ts';
import type { CycleVector, PortValues } from './cycle-harness.ts';

/**
 * Golden vectors for the pipelined FP32 units: directed edge cases plus
 * seeded random cases weighted toward the regions where FP hardware goes wrong
 * (rounding ties, the subnormal boundary, overflow, cancellation). One case
 * enters per cycle; its expected result is the TS model's
 * (quant/hwmodel/fp32.ts), checked the unit's latency later; reset cycles
 * in between clear what is in flight.
 */

/** xorshift32: tiny, seeded, identical on every machine. */
export class XorShift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 2 ** 32) * (hi - lo + 1));
  }
  bool(): boolean {
    return (this.u32() & 1) === 1;
  }
  /** uniform unsigned integer of `bits` bits */
  bits(bits: number): bigint {
    let v = 0n;
    for (let done = 0; done < bits; done += 32) v = (v << 32n) | BigInt(this.u32());
    return v & ((1n << BigInt(bits)) - 1n);
  }
}

export interface IntToFp32Case {
  value: bigint;
  exp: number;
}

export interface Fp32AddCase {
  a: number;
  b: number;
}

function bitLength(n: bigint): number {
  return n === 0n ? 0 : (n < 0n ? -n : n).toString(2).length;
}

/** Directed cases for int-to-fp32 of the given widths (all within range). */
export function intToFp32DirectedCases(c: IntToFp32Config): IntToFp32Case[] {
  const vMax = (1n << BigInt(c.intWidth - 1)) - 1n;
  const vMin = -vMax - 1n;
  const eMin = -(2 ** (c.expWidth - 1));
  const eMax = 2 ** (c.expWidth - 1) - 1;
  const out: IntToFp32Case[] = [];
  const add = (value: bigint, exp: number): void => {
    if (value >= vMin && value <= vMax && exp >= eMin && exp <= eMax) out.push({ value, exp });
  };
  // zero: always +0, whatever the exponent
  for (const e of [eMin, -150, -1, 0, 1, 127, 128, eMax]) add(0n, e);
  // extremes of the integer against extremes of the exponent
  const values = [1n, -1n, 2n, 3n, -3n, 5n, 7n, vMax, vMin, vMax - 1n, vMin + 1n, 1n << BigInt(c.intWidth - 2), (1n << 24n) - 1n, 1n << 24n, (1n << 24n) + 1n, (1n << 24n) + 3n, (1n << 25n) - 1n, (1n << 25n) - 2n, -((1n << 24n) + 1n)];
  for (const v of values) for (const e of [eMin, eMin + 1, -1, 0, 1, eMax - 1, eMax]) add(v, e);
  // the leading one placed at the interesting binades: largest finite, overflow,
  // smallest normal, subnormals, the half-of-smallest-subnormal tie, total underflow
  for (const v of values) {
    const p = bitLength(v) - 1;
    for (const E of [127, 128, 129, 130, 131, 200, -125, -126, -127, -128, -148, -149, -150, -151, -152, -170]) add(v, E - p);
  }
  // ties in the subnormal range (scale 2^-150: odd values are exact halves)
  for (const v of [1n, 3n, 5n, 7n, -1n, -3n, (1n << 24n) - 1n, (1n << 24n) - 3n, (1n << 23n) + 1n]) add(v, -150);
  // ties in the normal range (need more than 25 integer bits): 2^24+1 ties down, 2^24+3 up
  for (const v of [(1n << 24n) + 1n, (1n << 24n) + 3n, -((1n << 24n) + 3n), (1n << 25n) + 2n, (1n << 25n) + 6n, (1n << 25n) + 3n]) for (const e of [0, 5, -20]) add(v, e);
  // the largest finite and the tie just above it (rounds to Inf: the max is odd)
  add((1n << 24n) - 1n, 104); // 0x7F7FFFFF
  add((1n << 25n) - 1n, 103); // tie between max and 2^128 -> Inf
  add((1n << 25n) - 2n, 103); // exactly max
  add(-((1n << 25n) - 1n), 103); // -Inf
  add((1n << 26n) - 3n, 102); // just below the tie -> max
  add(1n, 127);
  add(1n, 128); // Inf
  add(-1n, 128); // -Inf
  return out;
}

/** Random int-to-fp32 cases, weighted: uniform; leading one near the subnormal/overflow/unit binades; constructed ties. */
export function intToFp32RandomCases(c: IntToFp32Config, n: number, seed: number): IntToFp32Case[] {
  const r = new XorShift32(seed);
  const vMax = (1n << BigInt(c.intWidth - 1)) - 1n;
  const vMin = -vMax - 1n;
  const eMin = -(2 ** (c.expWidth - 1));
  const eMax = 2 ** (c.expWidth - 1) - 1;
  const clampE = (e: number): number => Math.min(eMax, Math.max(eMin, e));
  const out: IntToFp32Case[] = [];
  const randValue = (): bigint => {
    // random bit length, so small and large magnitudes are equally common
    const nb = r.int(1, c.intWidth - 1);
    let v = r.bits(nb) | (1n << BigInt(nb - 1));
    if (r.bool()) v = -v;
    if (r.int(0, 15) === 0) v = r.bool() ? vMin : vMax;
    return v;
  };
  while (out.length < n) {
    const kind = r.int(0, 9);
    let value: bigint;
    let exp: number;
    if (kind <= 1) {
      // uniform bits, uniform exponent
      value = r.bits(c.intWidth);
      if (value > vMax) value -= 1n << BigInt(c.intWidth);
      exp = r.int(eMin, eMax);
    } else if (kind <= 6) {
      // leading one in a chosen region
      value = randValue();
      const p = bitLength(value) - 1;
      const region = [
        [-155, -120],
        [120, 130],
        [-24, 24],
        [-152, -146],
        [125, 128],
      ][kind - 2]!;
      exp = clampE(r.int(region[0]!, region[1]!) - p);
    } else {
      // a constructed tie (or a near-tie) at the rounding position
      const subnormal = kind === 7 || c.intWidth < 27;
      const k = subnormal ? r.int(1, Math.min(23, c.intWidth - 2)) : r.int(1, c.intWidth - 26);
      const headBits = subnormal ? r.int(1, Math.max(1, Math.min(23, c.intWidth - 1 - k))) : 24;
      let mag = ((r.bits(headBits) | (subnormal ? 0n : 1n << BigInt(headBits - 1))) << BigInt(k)) | (1n << BigInt(k - 1));
      const nudge = r.int(0, 3);
      if (nudge === 1) mag += 1n;
      if (nudge === 2 && mag > 1n) mag -= 1n;
      if (mag > vMax) mag = vMax;
      value = r.bool() ? -mag : mag;
      // subnormal: the quantum 2^-149 sits at bit k; normal: 24 kept bits above bit k
      exp = subnormal ? clampE(-149 - k) : clampE(r.int(-120, 100));
    }
    out.push({ value, exp });
  }
  return out;
}

/** Interesting binary32 magnitudes (sign bit clear). */
const FP32_SPECIAL_MAGS = [
  0x00000000, // 0
  0x00000001, // smallest subnormal
  0x00000002,
  0x00000003,
  0x00400000, // half of the smallest normal
  0x007fffff, // largest subnormal
  0x00800000, // smallest normal
  0x00800001,
  0x00ffffff,
  0x3f800000, // 1
  0x3f800001, // 1 + ulp
  0x3f7fffff, // 1 - ulp/2
  0x3fc00000, // 1.5
  0x33800000, // 2^-24: half an ulp of 1
  0x33000000, // 2^-25
  0x33000001, // 2^-25 (1 + 2^-23): just above a quarter ulp
  0x337fffff,
  0x2f800000, // 2^-32
  0x4b800000, // 2^24
  0x72800000, // 2^102
  0x73000000, // 2^103: half an ulp of the largest finite
  0x7f000000, // 2^127
  0x7f7ffffe,
  0x7f7fffff, // largest finite
  0x7f800000, // Inf
  0x7fc00000, // quiet NaN
  0x7f800001, // signalling NaN
  0x7fabcdef, // NaN with payload
];

/** All sign combinations of all pairs of FP32_SPECIAL_MAGS, plus hand-picked sums. */
export function fp32AddDirectedCases(): Fp32AddCase[] {
  const vals = FP32_SPECIAL_MAGS.flatMap((m) => [m >>> 0, (m | 0x80000000) >>> 0]);
  const out: Fp32AddCase[] = [];
  for (const a of vals) for (const b of vals) out.push({ a, b });
  const extra: [number, number][] = [
    [0x3f800001, 0x33800000], // (1 + ulp) + ulp/2: tie, rounds up to even
    [0x3f800000, 0x33800000], // 1 + ulp/2: tie, stays at 1
    [0x3f800000, 0xb3000000], // 1 - 2^-25: tie below 1, rounds to 1 (even)
    [0x3f800000, 0xb3000001], // 1 - (2^-25 + 2^-48): below the tie -> 1 - 2^-24
    [0x3f800000, 0x33000001], // 1 + a bit more than a quarter ulp -> 1
    [0x3f800000, 0x33800001], // 1 + a bit more than half an ulp -> 1 + ulp
    [0x7f7fffff, 0x73000000], // max + half ulp: tie, rounds to even = Inf
    [0x7f7fffff, 0x72ffffff], // max + just under half ulp -> max
    [0x7f7fffff, 0x7f7fffff], // overflow -> Inf
    [0xff7fffff, 0xff7fffff], // -> -Inf
    [0x00800000, 0x80000001], // smallest normal - smallest subnormal -> largest subnormal
    [0x00400000, 0x00400000], // subnormal + subnormal -> smallest normal
    [0x007fffff, 0x00000001], // largest subnormal + smallest -> smallest normal
    [0x3f800000, 0xbf7fffff], // 1 - (1 - ulp/2): massive cancellation
    [0x4b800001, 0xcb800000], // 2^24 + 2 - 2^24
    [0x3f800000, 0x0], // x + 0
    [0x3fc00000, 0xbfc00000], // x - x = +0
    [0xbfc00000, 0x3fc00000], // -x + x = +0
    [0x7f800000, 0xff800000], // Inf - Inf = NaN
    [0x7f800000, 0x7f7fffff], // Inf + max = Inf
    [0x3f800000, 0x00000001], // huge exponent difference
    [0x7f7fffff, 0x00000001],
    [0x7f7fffff, 0x80000001],
    [0x7f7fffff, 0xff7ffffe], // max - (max - ulp) = ulp (= 2^104)
  ];
  for (const [a, b] of extra) out.push({ a: a >>> 0, b: b >>> 0 }, { a: b >>> 0, b: a >>> 0 });
  return out;
}

/** Random fp32 additions, weighted toward alignment, cancellation, subnormals, overflow and ties. */
export function fp32AddRandomCases(n: number, seed: number): Fp32AddCase[] {
  const r = new XorShift32(seed);
  const pack = (s: number, e: number, f: number): number => ((s << 31) | ((e & 0xff) << 23) | (f & 0x7fffff)) >>> 0;
  const out: Fp32AddCase[] = [];
  while (out.length < n) {
    const kind = r.int(0, 19);
    let a: number;
    let b: number;
    if (kind <= 3) {
      // uniform bits (some NaN and Inf, mostly large exponent differences)
      a = r.u32();
      b = r.u32();
    } else if (kind <= 8) {
      // nearby exponents, random signs: alignment, carries, cancellation
      const ea = r.int(1, 254);
      const eb = Math.min(254, Math.max(0, ea - r.int(-30, 30)));
      a = pack(r.int(0, 1), ea, r.u32());
      b = pack(r.int(0, 1), eb, r.u32());
    } else if (kind <= 11) {
      // near cancellation: b = -(a moved by a few ulps)
      a = pack(r.int(0, 1), r.int(0, 254), r.u32());
      const mag = Math.min(0x7f7fffff, Math.max(0, (a & 0x7fffffff) + r.int(-3, 3)));
      b = ((mag | (~a & 0x80000000)) >>> 0) >>> 0;
    } else if (kind <= 13) {
      // subnormals and the smallest normals
      a = pack(r.int(0, 1), r.int(0, 3), r.u32());
      b = pack(r.int(0, 1), r.int(0, 3), r.u32());
    } else if (kind <= 15) {
      // near overflow, mostly same sign
      const s = r.int(0, 1);
      a = pack(s, r.int(250, 254), r.u32());
      b = pack(r.int(0, 4) === 0 ? 1 - s : s, r.int(240, 254), r.u32());
    } else {
      // a constructed tie: the bits of b shifted out of a's precision are exactly 10...0
      const ea = r.int(27, 254);
      const d = r.int(1, 24);
      let fb = r.u32() & 0x7fffff;
      if (d <= 23) fb = (fb & ~((1 << d) - 1) & 0x7fffff) | (1 << (d - 1));
      else fb = 0; // d = 24: the whole significand 1.000 is the half
      const nudge = r.int(0, 3); // sometimes one ulp off the tie
      if (nudge === 1 && fb < 0x7fffff) fb += 1;
      if (nudge === 2 && fb > 0) fb -= 1;
      a = pack(r.int(0, 1), ea, r.u32());
      b = pack(r.int(0, 1), ea - d, fb);
    }
    out.push(r.bool() ? { a, b } : { a: b, b: a });
  }
  return out;
}

/** One cycle of a pipelined unit's stream: a case entering. */
export interface PipelineStep {
  inputs: PortValues;
  result: bigint;
}

/**
 * Cycle vectors of a pipeline without valid bits and without reset: the
 * result of the inputs of cycle t is on `result` in cycle t + latency, i.e.
 * the harness (which checks after each rising edge) sees it in vector
 * t + latency - 1. The first latency - 1 vectors check nothing: the stages
 * still hold what entered before the first case (X in Icarus).
 */
export function pipelineVectors(steps: PipelineStep[], latency: number): CycleVector[] {
  const d = latency - 1;
  return steps.map((s, t) => ({ inputs: s.inputs, expect: t >= d ? { result: steps[t - d]!.result } : null }));
}

/** int-to-fp32: result in cycle t + INT2FP_STAGES (its last stage is registered). */
export const INT2FP_LATENCY = INT2FP_STAGES;
/** fp32-add: result in cycle t + FP32_ADD_STAGES (its last stage is registered too). */
export const FP32_ADD_LATENCY = FP32_ADD_STAGES;

export function intToFp32Vectors(cases: IntToFp32Case[]): CycleVector[] {
  return pipelineVectors(
    cases.map(({ value, exp }) => ({ inputs: { value, exp: BigInt(exp) }, result: BigInt(intToFp32Bits(value, exp)) })),
    INT2FP_LATENCY,
  );
}

export function fp32AddVectors(cases: Fp32AddCase[]): CycleVector[] {
  return pipelineVectors(
    cases.map(({ a, b }) => ({ inputs: { a: BigInt(a), b: BigInt(b) }, result: BigInt(fp32AddBits(a, b)) })),
    FP32_ADD_LATENCY,
  );
}
