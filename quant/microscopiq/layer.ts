/**
 * The in-memory MicroScopiQ layer: what the quantizer produces, the packed
 * format stores, and the hardware generator / reference model consume.
 *
 * Geometry: W[N][K] (N outputs, K inputs) padded with zeros to Np = ceil(N/B)·B
 * rows and Kp = ceil(K/G)·G columns. Slot (n, k) is weight W[n][k]; per-slot
 * arrays are row-major [n][k] with stride Kp. μB (k, j) holds slots
 * n = j·B .. j·B + B - 1 of input k; its index is u = k·(Np/B) + j (k-major,
 * the order of the packed records). Group (n, g) covers k = g·G .. g·G + G - 1.
 */
import type { MsqConfig } from './config.ts';
import type { DampingReport } from './hessian.ts';
import type { DecodedOutlier } from './outlier-code.ts';

/** Slot kinds. */
export const SLOT_INLIER = 0;
export const SLOT_OUTLIER = 1;
export const SLOT_PRUNED = 2;

export interface MsqStats {
  /** Real weights (N·K). */
  weights: number;
  /** Slots flagged by the outlier rule. */
  candidates: number;
  /** Outliers kept in FP (each with one pruned partner slot). */
  outliers: number;
  /** Candidates clipped into the inlier range because no topologically legal non-outlier slot exists in their μB. */
  clippedNoLegalPartner: number;
  /** Candidates clipped because every legal partner was given to another outlier (capacity). */
  clippedPartnersTaken: number;
  /** Candidates left as (saturated) inliers because an FP outlier plus a pruned partner would not lower the error. */
  clippedNotWorthIt: number;
  /** Outlier codes the shift window moved (0 <= shift <= maxShift). */
  windowClamped: number;
  /** Outliers kept whose value lay beyond the top code of their μB's window (clipped to it): a wider X field (--xbits) reaches them. */
  outliersSaturated: number;
  /** μBs with at least one outlier. */
  ublocksWithOutliers: number;
  /** Hessian mode: calibration rows, damping actually used, seconds spent. */
  hessian?: DampingReport & {
    calibrationRows: number;
    seconds: number;
    /** Building H, factorizing it (U = chol(H⁻¹)), and the GPTQ column loop. */
    phaseSeconds: { hessian: number; factor: number; gptq: number };
  };
}

/** Statistics of a layer of `weights` real weights before anything is counted. */
export function emptyStats(weights: number): MsqStats {
  return {
    weights,
    candidates: 0,
    outliers: 0,
    clippedNoLegalPartner: 0,
    clippedPartnersTaken: 0,
    clippedNotWorthIt: 0,
    windowClamped: 0,
    outliersSaturated: 0,
    ublocksWithOutliers: 0,
  };
}

export interface MsqPairs {
  /** μB index u of each pair; pairs are sorted by u, then by outlier slot. */
  ublock: Uint32Array;
  /** Outlier slot (0..B-1) within the μB. */
  outlier: Uint8Array;
  /** Pruned partner slot (0..B-1) within the μB. */
  partner: Uint8Array;
  /** The 2b-bit FP code. */
  code: Uint8Array;
  /** Decoded fields (derived from code and the μB's X; kept for the hardware model). */
  sign: Uint8Array;
  M: Uint8Array;
  hi: Uint8Array;
  lo: Uint8Array;
  shift: Uint8Array;
}

export interface MsqLayer {
  config: MsqConfig;
  N: number;
  K: number;
  Np: number;
  Kp: number;
  /** Groups per row: Kp / G. */
  groups: number;
  /** μBs per input column: Np / B. */
  ublocksPerColumn: number;
  /** Total μBs: Kp · Np / B. */
  ublocks: number;
  /** Inlier shared exponent S[n][g] (index n·groups + g), -127..127; E8M0 code S + 127. */
  scales: Int16Array;
  /** b-bit code stored in each slot (index n·Kp + k): inlier two's complement q, or an outlier code half. */
  codes: Uint8Array;
  /** SLOT_INLIER | SLOT_OUTLIER | SLOT_PRUNED per slot. */
  kind: Uint8Array;
  /** Signed PE operand per slot: inlier q; outlier s·hi; pruned partner s·lo. */
  operand: Int8Array;
  /** Per μB outlier exponent field X (0 when the μB has no outlier or xbits = 0). */
  ubX: Uint8Array;
  /** CSR: pairs of μB u are pairStart[u] .. pairStart[u+1]-1. */
  pairStart: Uint32Array;
  pairs: MsqPairs;
  stats: MsqStats;
}

/** Marks slot io as an outlier and slot ip as its pruned partner, with the PE operands s·hi and s·lo of the decoded code. */
export function setPairSlots(l: Pick<MsqLayer, 'kind' | 'operand'>, io: number, ip: number, d: DecodedOutlier): void {
  l.kind[io] = SLOT_OUTLIER;
  l.kind[ip] = SLOT_PRUNED;
  l.operand[io] = d.sign ? -d.hi : d.hi;
  l.operand[ip] = d.sign ? -d.lo : d.lo;
}

/** μB index of input k and μB column j. */
export function ublockIndex(layer: Pick<MsqLayer, 'ublocksPerColumn'>, k: number, j: number): number {
  return k * layer.ublocksPerColumn + j;
}

/** Value of slot (n, k) in units of its inlier LSB 2^(S - (b-2)), scaled by 2^F (an integer: the accumulator lane value for x = 1). */
export function slotLaneValue(layer: MsqLayer, n: number, k: number): number {
  const cfg = layer.config;
  const i = n * layer.Kp + k;
  const kind = layer.kind[i]!;
  if (kind === SLOT_PRUNED) return 0;
  if (kind === SLOT_INLIER) return layer.operand[i]! * 2 ** cfg.guardBits;
  const u = ublockIndex(layer, k, Math.floor(n / cfg.ublockSize));
  const slot = n % cfg.ublockSize;
  for (let p = layer.pairStart[u]!; p < layer.pairStart[u + 1]!; p++) {
    if (layer.pairs.outlier[p] === slot) {
      const M = layer.pairs.M[p]!;
      return (layer.pairs.sign[p] ? -M : M) * 2 ** layer.pairs.shift[p]!;
    }
  }
  throw new Error(`internal: outlier slot (${n}, ${k}) has no pair`);
}

/**
 * The dequantized weights, float32 [N][K] (padding cropped):
 * inlier q·2^(S-(b-2)); outlier s·M·2^(shift-F)·2^(S-(b-2)); pruned 0.
 * Every value is exact in float32 (a small integer times a power of two).
 */
export function dequantize(layer: MsqLayer): Float32Array {
  const { N, K, Kp, groups, config: cfg } = layer;
  const out = new Float32Array(N * K);
  const G = cfg.groupSize;
  const B = cfg.ublockSize;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const lsb = 2 ** (layer.scales[n * groups + g]! - cfg.fracBits);
      const k1 = Math.min(K, (g + 1) * G);
      for (let k = g * G; k < k1; k++) {
        const i = n * Kp + k;
        const kind = layer.kind[i]!;
        out[n * K + k] = kind === SLOT_INLIER ? layer.operand[i]! * lsb : 0;
      }
    }
  }
  // outliers
  const P = layer.pairs;
  for (let p = 0; p < P.ublock.length; p++) {
    const u = P.ublock[p]!;
    const k = Math.floor(u / layer.ublocksPerColumn);
    const n = (u % layer.ublocksPerColumn) * B + P.outlier[p]!;
    if (n >= N || k >= K) continue;
    const S = layer.scales[n * groups + Math.floor(k / G)]!;
    const M = P.M[p]!;
    out[n * K + k] = (P.sign[p] ? -M : M) * 2 ** (P.shift[p]! - cfg.guardBits + S - cfg.fracBits);
  }
  return out;
}
