/**
 * Solving one μB (k, j) that holds outlier candidates: which candidates become
 * 2b-bit FP outliers, which slot each one prunes (pairing.ts, for the ReCoN
 * topology), and the μB's X field. Both modes call it once their inliers are
 * rounded; it writes the pairs' slots into the layer being built.
 */
import type { MsqConfig } from './config.ts';
import type { LayerBuilder } from './layer-builder.ts';
import { setPairSlots } from './layer.ts';
import {
  decodeOutlierInto, outlierCodeTable, outlierWindow, quantizeOutlier,
  type DecodedOutlier, type OutlierWindow, type QuantizedOutlier,
} from './outlier-code.ts';
import { PairingSolver } from './pairing.ts';
import { pow2 } from './pow2.ts';

export class UblockSolver {
  private readonly bld: LayerBuilder;
  private readonly cfg: MsqConfig;
  /** Slot values of the μB to solve; the caller fills them. */
  readonly vals: Float64Array;
  /** Final dequantized value of each slot of the last solved μB. */
  readonly final: Float64Array;
  private readonly sExp: Int32Array;
  private readonly qIn: Int32Array;
  private readonly eIn: Float64Array;
  private readonly eOut: Float64Array;
  private readonly elemOut: Float64Array;
  private readonly clampOut: Uint8Array;
  /** per candidate and X: the value lies beyond the window's top code (QuantizedOutlier.saturated) */
  private readonly satOut: Uint8Array;
  private readonly codeOf: Map<number, number>;
  private readonly win: OutlierWindow;
  private readonly solver: PairingSolver;
  private readonly nX: number;
  private readonly qo: QuantizedOutlier = { code: 0, elem: 0, clamped: false, saturated: false };
  private readonly dec: DecodedOutlier = { sign: 0, e: 0, m: 0, M: 0, hi: 0, lo: 0, shift: 0 };

  constructor(bld: LayerBuilder) {
    const cfg = bld.cfg;
    const B = cfg.ublockSize;
    this.bld = bld;
    this.cfg = cfg;
    this.win = outlierWindow(cfg);
    this.solver = new PairingSolver(B, cfg.recon);
    this.nX = 1 << cfg.xbits;
    this.vals = new Float64Array(B);
    this.sExp = new Int32Array(B);
    this.qIn = new Int32Array(B);
    this.eIn = new Float64Array(B);
    this.eOut = new Float64Array(B * this.nX);
    this.elemOut = new Float64Array(B * this.nX);
    this.codeOf = outlierCodeTable(cfg);
    this.clampOut = new Uint8Array(B * this.nX);
    this.satOut = new Uint8Array(B * this.nX);
    this.final = new Float64Array(B);
  }

  /**
   * Solves μB (k, j) of group g whose slot values are in `vals` and whose
   * inliers are already rounded (scales, operands), with candidate slots
   * `candMask`. Writes the pairs' slots, records the pairs, and leaves each
   * slot's final value in `final`.
   */
  solve(k: number, j: number, g: number, candMask: number): void {
    const { cfg, bld, vals, sExp, qIn, eIn, eOut, elemOut, clampOut, satOut, final, solver, nX, win, qo } = this;
    const B = cfg.ublockSize;
    const frac = cfg.fracBits;
    for (let i = 0; i < B; i++) {
      const n = j * B + i;
      sExp[i] = bld.scales[n * bld.groups + g]!;
      qIn[i] = bld.operand[n * bld.Kp + k]!;
    }
    for (let i = 0; i < B; i++) {
      const v = vals[i]!;
      const qv = qIn[i]! * pow2(sExp[i]! - frac);
      final[i] = qv;
      eIn[i] = (v - qv) * (v - qv);
      if ((candMask >> i) & 1) {
        let best = Infinity;
        for (let X = 0; X < nX; X++) {
          quantizeOutlier(v, sExp[i]!, X, cfg, win, qo, false);
          const val = qo.elem * pow2(sExp[i]! + cfg.outlierExpOffset + X);
          const e = qo.elem === 0 ? Infinity : (v - val) * (v - val);
          eOut[i * nX + X] = e;
          elemOut[i * nX + X] = qo.elem;
          clampOut[i * nX + X] = qo.clamped ? 1 : 0;
          satOut[i * nX + X] = qo.saturated ? 1 : 0;
          if (e < best) best = e;
        }
        solver.benefit[i] = eIn[i]! - best;
      } else {
        solver.cost[i] = v * v - eIn[i]!;
      }
    }
    solver.candMask = candMask;
    solver.solve();
    // Common X, then drop pairs that stop paying off with it; repeat until stable.
    let X = 0;
    for (;;) {
      if (solver.count === 0) break;
      X = 0;
      if (nX > 1) {
        let bestSum = Infinity;
        for (let x = 0; x < nX; x++) {
          let s = 0;
          for (let a = 0; a < solver.count; a++) s += eOut[solver.pairO[a]! * nX + x]!;
          if (s < bestSum) {
            bestSum = s;
            X = x;
          }
        }
      }
      let dropped = false;
      for (let a = solver.count - 1; a >= 0; a--) {
        const o = solver.pairO[a]!;
        const p = solver.pairP[a]!;
        if (!(eIn[o]! - eOut[o * nX + X]! - solver.cost[p]! > 0)) {
          solver.dropPair(a);
          dropped = true;
        }
      }
      if (!dropped) break;
    }
    this.classifyUnpaired(candMask);
    if (solver.count === 0) return;
    const u = k * bld.upc + j;
    bld.ubX[u] = X;
    bld.stats.ublocksWithOutliers++;
    const rowBase = j * B;
    const bmask = (1 << cfg.b) - 1;
    for (let a = 0; a < solver.count; a++) {
      const o = solver.pairO[a]!;
      const p = solver.pairP[a]!;
      const code = this.codeOf.get(elemOut[o * nX + X]!)!;
      const d = decodeOutlierInto(code, X, cfg, this.dec);
      const io = (rowBase + o) * bld.Kp + k;
      const ip = (rowBase + p) * bld.Kp + k;
      bld.codes[io] = code >> cfg.b;
      bld.codes[ip] = code & bmask;
      setPairSlots(bld, io, ip, d);
      final[o] = (d.sign ? -d.M : d.M) * pow2(d.shift - cfg.guardBits + sExp[o]! - frac);
      final[p] = 0;
      bld.pairs.push(u, o, p, code);
      bld.stats.outliers++;
      bld.stats.windowClamped += clampOut[o * nX + X]!;
      bld.stats.outliersSaturated += satOut[o * nX + X]!;
    }
  }

  /** Counts why each candidate left without a pair (stats.clipped*). */
  private classifyUnpaired(candMask: number): void {
    const { solver, cfg } = this;
    const topology = solver.topology;
    const stats = this.bld.stats;
    const B = cfg.ublockSize;
    let paired = 0;
    for (let a = 0; a < solver.count; a++) paired |= 1 << solver.pairO[a]!;
    for (let i = 0; i < B; i++) {
      if (!((candMask >> i) & 1) || (paired >> i) & 1) continue;
      // legal partners of i, ignoring what the others took
      let anyLegal = false;
      let anyGain = false;
      for (let p = 0; p < B; p++) {
        if ((candMask >> p) & 1) continue;
        if (!topology.reachable(i, p)) continue;
        anyLegal = true;
        if (solver.benefit[i]! - solver.cost[p]! > 0) anyGain = true;
      }
      if (!anyLegal) stats.clippedNoLegalPartner++;
      else if (anyGain) stats.clippedPartnersTaken++;
      else stats.clippedNotWorthIt++;
    }
  }
}
