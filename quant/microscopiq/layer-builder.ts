/**
 * What one quantization run builds: the layer's arrays (scales, slot codes,
 * kinds, operands, per-μB X, pairs, statistics) and the inlier encoding both
 * modes share; finish() turns it into an MsqLayer.
 */
import { encodeElement } from '../element.ts';
import type { MsqConfig } from './config.ts';
import { PairList } from './growable.ts';
import { intRounder, roundInt, type IntRounder } from './int-rounder.ts';
import { emptyStats, type MsqLayer, type MsqStats } from './layer.ts';
import { decodeOutlier } from './outlier-code.ts';
import { pow2 } from './pow2.ts';

export class LayerBuilder {
  readonly cfg: MsqConfig;
  readonly N: number;
  readonly K: number;
  readonly Np: number;
  readonly Kp: number;
  readonly groups: number;
  /** μBs per input column: Np / B. */
  readonly upc: number;
  readonly scales: Int16Array;
  readonly codes: Uint8Array;
  readonly kind: Uint8Array;
  readonly operand: Int8Array;
  readonly ubX: Uint8Array;
  readonly pairs = new PairList();
  readonly stats: MsqStats;
  /** Two's complement code of inlier integer q, index q + maxInt. */
  readonly inCode: Uint8Array;
  readonly rounder: IntRounder;
  /** Candidate threshold in standard deviations. */
  zThr = 0;

  constructor(cfg: MsqConfig, N: number, K: number) {
    this.cfg = cfg;
    this.N = N;
    this.K = K;
    const B = cfg.ublockSize;
    const G = cfg.groupSize;
    this.Np = Math.ceil(N / B) * B;
    this.Kp = Math.ceil(K / G) * G;
    this.groups = this.Kp / G;
    this.upc = this.Np / B;
    this.scales = new Int16Array(this.Np * this.groups);
    this.codes = new Uint8Array(this.Np * this.Kp);
    this.kind = new Uint8Array(this.Np * this.Kp);
    this.operand = new Int8Array(this.Np * this.Kp);
    this.ubX = new Uint8Array(this.Kp * this.upc);
    this.stats = emptyStats(N * K);
    this.rounder = intRounder(cfg.inFmt, cfg.rounding);
    this.inCode = new Uint8Array(2 * cfg.maxInt + 1);
    for (let q = -cfg.maxInt; q <= cfg.maxInt; q++) {
      this.inCode[q + cfg.maxInt] = encodeElement(q / 2 ** cfg.fracBits, cfg.inFmt);
    }
  }

  /** Inlier integer of v for exponent S (saturating: candidates are "clipped" here). */
  inlierQ(v: number, S: number): number {
    return roundInt(this.rounder, v, pow2(-S));
  }

  setInlier(idx: number, q: number): void {
    this.operand[idx] = q;
    this.codes[idx] = this.inCode[q + this.cfg.maxInt]!;
  }

  finish(hessian?: MsqStats['hessian']): MsqLayer {
    const cfg = this.cfg;
    const P = this.pairs;
    const n = P.n;
    const nUb = this.Kp * this.upc;
    const pairStart = new Uint32Array(nUb + 1);
    for (let a = 0; a < n; a++) pairStart[P.ublock[a]! + 1]!++;
    for (let u = 0; u < nUb; u++) pairStart[u + 1]! += pairStart[u]!;
    const sign = new Uint8Array(n);
    const M = new Uint8Array(n);
    const hi = new Uint8Array(n);
    const lo = new Uint8Array(n);
    const shift = new Uint8Array(n);
    for (let a = 0; a < n; a++) {
      const d = decodeOutlier(P.code[a]!, this.ubX[P.ublock[a]!]!, cfg);
      sign[a] = d.sign;
      M[a] = d.M;
      hi[a] = d.hi;
      lo[a] = d.lo;
      shift[a] = d.shift;
    }
    if (hessian) this.stats.hessian = hessian;
    return {
      config: cfg,
      N: this.N,
      K: this.K,
      Np: this.Np,
      Kp: this.Kp,
      groups: this.groups,
      ublocksPerColumn: this.upc,
      ublocks: nUb,
      scales: this.scales,
      codes: this.codes,
      kind: this.kind,
      operand: this.operand,
      ubX: this.ubX,
      pairStart,
      pairs: {
        ublock: P.ublock.slice(0, n),
        outlier: P.o.slice(0, n),
        partner: P.p.slice(0, n),
        code: P.code.slice(0, n),
        sign,
        M,
        hi,
        lo,
        shift,
      },
      stats: this.stats,
    };
  }
}
