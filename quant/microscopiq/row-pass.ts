/**
 * The direct-cast row pass over one (row, group): the outlier rule's
 * statistics, the candidates (pushed as keys k·Np + n for the μB solver), the
 * inlier exponent S (microxcaling's rule, quant/shared-exponent.ts, refined by
 * the scale search when asked) and every slot rounded as an inlier
 * (candidates saturate at ±maxInt: that is the "clip").
 */
import { InputError } from '../../common/errors.ts';
import { sharedExponent } from '../shared-exponent.ts';
import type { KeyList } from './growable.ts';
import { candidateLimit, groupStats } from './group-stats.ts';
import { roundInt, roundStep, type IntRounder } from './int-rounder.ts';
import { pow2 } from './pow2.ts';
import { searchScale, searchWorthwhile } from './scale-search.ts';

/** What the row pass reads and writes, set up once per direct-cast run. */
export interface RowPass {
  /** Weights W[N][K] (float32) and their bit patterns (for the sign bit). */
  W: Float32Array;
  Wu: Uint32Array;
  K: number;
  Kp: number;
  Np: number;
  /** Candidate threshold in standard deviations. */
  zThr: number;
  rounder: IntRounder;
  /** Per slot (n·Kp + k): the signed inlier integer and its code. */
  operand: Int8Array;
  codes: Uint8Array;
  /** Two's complement code of inlier integer q, index q + maxInt. */
  inCode: Uint8Array;
  candKeys: KeyList;
  /** Scale search (2·G integers: the group rounded with S, then S - 1), or null for the plain MX rule. */
  searchScratch: Int8Array | null;
}

/** Reports the first non-finite weight of a row segment (the sums showed there is one). */
function nonFinite(W: Float32Array, wBase: number, k0: number, k1: number, n: number): never {
  for (let k = k0; k < k1; k++) {
    const v = W[wBase + k]!;
    if (!Number.isFinite(v)) throw new InputError(`weight W[${n}][${k}] is ${v}: MicroScopiQ needs finite weights`);
  }
  throw new InputError(`weights of row ${n}, inputs ${k0}..${k1 - 1} are too large: their squares overflow`);
}

/** Row n, inputs k0 .. k1-1 (one group): pushes its candidates, rounds its slots, returns its exponent S. */
export function rowGroup(c: RowPass, n: number, k0: number, k1: number): number {
  const { W, Wu, operand, codes, inCode, rounder } = c;
  const wBase = n * c.K;
  const base = n * c.Kp;
  let s = 0;
  let s2 = 0;
  let mx = 0;
  for (let k = k0; k < k1; k++) {
    const a = Math.abs(W[wBase + k]!);
    s += a;
    s2 += a * a;
    if (a > mx) mx = a;
  }
  if (!Number.isFinite(s2)) nonFinite(W, wBase, k0, k1, n);
  const { mean, std } = groupStats(s, s2, k1 - k0);
  const lim = candidateLimit(std, c.zThr);
  let maxIn = 0;
  if (mx - mean <= lim) maxIn = mx; // no candidate in this group (the common case)
  else {
    const { candKeys, Np } = c;
    for (let k = k0; k < k1; k++) {
      const a = Math.abs(W[wBase + k]!);
      if (a - mean > lim) candKeys.push(k * Np + n);
      else if (a > maxIn) maxIn = a;
    }
  }
  let S = sharedExponent(maxIn, 0);
  const { thr, up, maxInt } = rounder;
  const scratch = c.searchScratch;
  if (scratch !== null && searchWorthwhile(maxIn, S, maxInt)) {
    const cnt = k1 - k0;
    const chosen = searchScale(W, Wu, wBase + k0, cnt, mean, lim, S, rounder, scratch);
    if (rounder.exceptions === null) {
      // the search has rounded every slot for the chosen exponent already
      const pick = chosen === S ? 0 : cnt;
      for (let i = 0; i < cnt; i++) {
        const q = scratch[pick + i]!;
        operand[base + k0 + i] = q;
        codes[base + k0 + i] = inCode[q + maxInt]!;
      }
      return chosen;
    }
    S = chosen;
  }
  const inv = pow2(-S);
  if (rounder.exceptions === null) {
    for (let k = k0; k < k1; k++) {
      // roundInt without the float32 rounding: |v|·2^-S is exact for a float32 v
      // (a product too small for a float32 normal rounds to 0 and a huge one
      // saturates either way)
      let q = roundStep(Math.abs(W[wBase + k]!) * inv, thr, up, maxInt);
      const neg = Wu[wBase + k]! >>> 31; // sign bit; branch-free negation
      q = (q ^ -neg) + neg;
      operand[base + k] = q;
      codes[base + k] = inCode[q + maxInt]!;
    }
  } else {
    for (let k = k0; k < k1; k++) {
      const q = roundInt(rounder, W[wBase + k]!, inv);
      operand[base + k] = q;
      codes[base + k] = inCode[q + maxInt]!;
    }
  }
  return S;
}
