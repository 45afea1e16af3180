/**
 * Reference model of one ReCoN slice (one μB of B lanes in one PE-array row).
 *
 * Lane settings, produced by the block-decode unit and latched with the weights:
 *   inlier  : lane value = product << F          (F guard bits below the inlier LSB)
 *   outlier : lane value = ((product << L) + partnerProduct) << shift
 *   pruned  : lane value = 0                      (its product is the outlier's low half)
 * where L = b - 1 splits an outlier significand M = hi * 2^L + lo into two b-bit
 * PE operands, and `shift` already includes F (so it is never negative).
 *
 * Topologies differ only in which partners are reachable:
 *   crossbar : any lane of the μB;
 *   butterfly: lanes at distance 2^s (partner = lane XOR 2^s), merged by the 2x2
 *              switch of stage s. An unreachable partner contributes 0.
 * Their records (name, reachability rule, which lane model below, ...) are in
 * recon-topologies.ts.
 */
import { wrapSigned } from '../../common/bits.ts';

export type { ReconTopology } from './recon-topologies.ts';
export type LaneMode = 'inlier' | 'outlier' | 'pruned';

export interface LaneSetting {
  mode: LaneMode;
  /** partner lane (0..B-1), meaningful for outliers */
  partner: number;
  /** total left shift of the merged value, meaningful for outliers */
  shift: number;
}

export interface ReconParams {
  /** μB size: lanes per slice (power of two) */
  lanes: number;
  /** split point of outlier significands: b - 1 */
  splitBits: number;
  /** guard bits: inlier products are shifted left by F */
  guardBits: number;
  /** width of the per-lane shift field */
  shiftBits: number;
}

/** Mode codes in the 2-bit mode field. Code 3 is reserved and behaves as pruned. */
export const MODE_CODE: Record<LaneMode, number> = { inlier: 0, outlier: 1, pruned: 2 };

export function partnerBits(lanes: number): number {
  return Math.log2(lanes);
}

/** Bits of one lane's setting: mode (2, LSBs), partner (log2 B), shift (shiftBits, MSBs). */
export function laneSettingBits(p: ReconParams): number {
  return 2 + partnerBits(p.lanes) + p.shiftBits;
}

export function encodeLaneSetting(s: LaneSetting, p: ReconParams): bigint {
  const pb = partnerBits(p.lanes);
  if (s.partner < 0 || s.partner >= p.lanes) throw new Error(`partner ${s.partner} out of range 0..${p.lanes - 1}`);
  if (s.shift < 0 || s.shift >= 1 << p.shiftBits) throw new Error(`shift ${s.shift} out of range 0..${(1 << p.shiftBits) - 1}`);
  return BigInt(MODE_CODE[s.mode]) | (BigInt(s.partner) << 2n) | (BigInt(s.shift) << BigInt(2 + pb));
}

/** Settings of a whole slice packed LSB-first (lane 0 in the lowest bits). */
export function encodeSliceSettings(settings: LaneSetting[], p: ReconParams): bigint {
  const w = BigInt(laneSettingBits(p));
  return settings.reduce((acc, s, i) => acc | (encodeLaneSetting(s, p) << (w * BigInt(i))), 0n);
}

/**
 * What a slice computes for a legal setting (disjoint outlier/pruned pairs, each
 * partner reachable in the topology): the contract both topologies implement.
 */
export function reconLanesIdeal(products: bigint[], settings: LaneSetting[], p: ReconParams): bigint[] {
  return products.map((prod, i) => {
    const s = settings[i]!;
    if (s.mode === 'inlier') return prod << BigInt(p.guardBits);
    if (s.mode === 'outlier') return ((prod << BigInt(p.splitBits)) + products[s.partner]!) << BigInt(s.shift);
    return 0n;
  });
}

/** Final stage shared by both topologies: inlier << F, outlier << shift, pruned -> 0. */
function laneOut(value: bigint, s: LaneSetting, p: ReconParams): bigint {
  if (s.mode === 'inlier') return value << BigInt(p.guardBits);
  if (s.mode === 'outlier') return value << BigInt(s.shift);
  return 0n; // pruned, and the reserved mode code
}

/**
 * Exact model of the crossbar slice for any setting: each lane selects its
 * partner's product with a B:1 multiplexer and merges it with its own. The
 * merge wraps at MW = PW + L bits as in the RTL; products of b x a operands
 * never reach the wrap (|p| <= 2^(PW-2), so |(p << L) + p'| < 2^(PW+L-1)).
 */
export function reconLanesCrossbar(products: bigint[], settings: LaneSetting[], p: ReconParams, productWidth: number): bigint[] {
  const mw = mergedWidth(productWidth, p.splitBits);
  return products.map((prod, i) => {
    const s = settings[i]!;
    const value = s.mode === 'outlier' ? wrapSigned((prod << BigInt(p.splitBits)) + products[s.partner]!, mw) : prod;
    return laneOut(value, s, p);
  });
}

/**
 * Exact model of the butterfly slice for any setting: log2(B) stages; the 2x2
 * switch of stage s joins lanes i and j = i XOR 2^s. It merges into i when lane
 * i is an outlier whose partner is j (and symmetrically into j); the merged-away
 * lane becomes 0. Values are MW = PW + L bits wide and wrap there, as in the RTL
 * (only reachable for illegal settings that merge twice).
 */
export function reconLanesButterfly(products: bigint[], settings: LaneSetting[], p: ReconParams, productWidth: number): bigint[] {
  const mw = mergedWidth(productWidth, p.splitBits);
  const L = BigInt(p.splitBits);
  let x = [...products];
  for (let dist = 1; dist < p.lanes; dist <<= 1) {
    const next = [...x];
    for (let i = 0; i < p.lanes; i++) {
      const j = i ^ dist;
      if (j < i) continue;
      const si = settings[i]!;
      const sj = settings[j]!;
      const mergeLo = si.mode === 'outlier' && si.partner === j;
      const mergeHi = !mergeLo && sj.mode === 'outlier' && sj.partner === i;
      if (mergeLo) {
        next[i] = wrapSigned((x[i]! << L) + x[j]!, mw);
        next[j] = 0n;
      } else if (mergeHi) {
        next[j] = wrapSigned((x[j]! << L) + x[i]!, mw);
        next[i] = 0n;
      }
    }
    x = next;
  }
  return x.map((v, i) => laneOut(v, settings[i]!, p));
}

/** Width of a merged (not yet shifted) value: (hi << L) + lo of two b x a products fits PW + L bits signed. */
export function mergedWidth(productWidth: number, splitBits: number): number {
  return productWidth + splitBits;
}

/** Largest left shift a lane applies. */
export function maxLaneShift(p: ReconParams): number {
  return Math.max(p.guardBits, (1 << p.shiftBits) - 1);
}

/** Width of a lane value: the merged width plus the largest shift. */
export function laneWidth(productWidth: number, p: ReconParams): number {
  return mergedWidth(productWidth, p.splitBits) + maxLaneShift(p);
}
