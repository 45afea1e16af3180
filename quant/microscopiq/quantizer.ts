/**
 * The MicroScopiQ quantizer laid out for the hardware (docs/ARITHMETIC.md):
 * groups of G inputs with E8M0 inlier exponents, μBs of B outputs, outliers as
 * 2b-bit FP codes split over their own slot and a pruned partner slot of the
 * same μB, partners chosen to suit the ReCoN topology.
 *
 * Two modes share every decision rule:
 *  - direct-cast (no calibration): weights are quantized as they are; partners
 *    are the slots whose pruning costs least (magnitude);
 *  - Hessian mode (calibration activations X): GPTQ column order with
 *    Optimal-Brain-Surgeon error compensation. H = 2/M XᵀX, U = chol(H⁻¹) upper;
 *    after column k is quantized, its error e_n = (w_nk - q_nk)/U_kk is pushed
 *    onto the not-yet-quantized columns: w_nj -= e_n · U_kj (j > k). Pruning a
 *    partner is a quantization to 0 and is compensated the same way. The OBS
 *    score of pruning w_nk is w_nk²/U_kk²; all slots of a μB share the input k
 *    and so U_kk, so inside a μB the score orders slots like the (compensated)
 *    magnitude: the Hessian acts through the compensation and through the
 *    compensated weights the later columns see.
 *
 * Per group (n, g), at the moment the group is reached (GPTQ: after all earlier
 * compensation): statistics of |w| over its real inputs; candidates are
 * |w| - mean > z·std (z = --std-dev, or the global z-score quantile for
 * --top-fraction); the inlier exponent S = floor(log2 max|non-candidates|)
 * (microxcaling's rule, quant/shared-exponent.ts). Every slot is first rounded
 * as an inlier (candidates saturate at ±(2^(b-1)-1) LSB: that is the "clip").
 * Then each μB with candidates is solved (pairing.ts): which candidates become
 * FP outliers, which slot each one prunes, and the μB's X field.
 */
import { InputError } from '../../common/errors.ts';
import { encodeElement } from '../element.ts';
import { intRounder, roundInt, type IntRounder } from './int-rounder.ts';
import { pow2 } from './pow2.ts';
import { sharedExponent } from '../shared-exponent.ts';
import { resolveConfig, type MsqConfig, type MsqOptions } from './config.ts';
import {
  decodeOutlier, decodeOutlierInto, outlierCodeTable, outlierWindow, quantizeOutlier,
  type DecodedOutlier, type OutlierWindow, type QuantizedOutlier,
} from './outlier-code.ts';
import { PairingSolver } from './pairing.ts';
import { gptqInverseFactor, hessianFromCalibration } from './hessian.ts';
import { SLOT_OUTLIER, SLOT_PRUNED, type MsqLayer, type MsqStats } from './layer.ts';

export interface Calibration {
  /** Activations X[M][K], row-major. */
  X: ArrayLike<number>;
  M: number;
  /** Width of X; must equal the weight's K. */
  K: number;
}

export interface QuantizeOptions extends MsqOptions {
  calibration?: Calibration;
}

/** Growable typed storage for pairs. */
class PairList {
  n = 0;
  ublock = new Uint32Array(1024);
  o = new Uint8Array(1024);
  p = new Uint8Array(1024);
  code = new Uint8Array(1024);
  push(u: number, o: number, p: number, code: number): void {
    if (this.n === this.ublock.length) {
      const grow = <T extends Uint32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.ublock = grow(this.ublock);
      this.o = grow(this.o);
      this.p = grow(this.p);
      this.code = grow(this.code);
    }
    this.ublock[this.n] = u;
    this.o[this.n] = o;
    this.p[this.n] = p;
    this.code[this.n] = code;
    this.n++;
  }
}

/** Everything one quantization run builds. */
class Builder {
  readonly cfg: MsqConfig;
  readonly N: number;
  readonly K: number;
  readonly Np: number;
  readonly Kp: number;
  readonly groups: number;
  readonly upc: number;
  readonly scales: Int16Array;
  readonly codes: Uint8Array;
  readonly kind: Uint8Array;
  readonly operand: Int8Array;
  readonly ubX: Uint8Array;
  readonly pairs = new PairList();
  readonly stats: MsqStats;
  readonly win: OutlierWindow;
  readonly solver: PairingSolver;
  readonly nX: number;
  /** Two's complement code of inlier integer q, index q + maxInt. */
  readonly inCode: Uint8Array;
  readonly rounder: IntRounder;
  /** Candidate threshold in standard deviations. */
  zThr = 0;
  // μB scratch
  readonly vals: Float64Array;
  readonly sExp: Int32Array;
  readonly qIn: Int32Array;
  readonly eIn: Float64Array;
  readonly eOut: Float64Array;
  readonly elemOut: Float64Array;
  readonly codeOf: Map<number, number>;
  readonly clampOut: Uint8Array;
  /** Final dequantized value of each slot of the last solved μB. */
  readonly final: Float64Array;
  private readonly qo: QuantizedOutlier = { code: 0, elem: 0, clamped: false };
  private readonly dec: DecodedOutlier = { sign: 0, e: 0, m: 0, M: 0, hi: 0, lo: 0, shift: 0 };

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
    this.stats = {
      weights: N * K,
      candidates: 0,
      outliers: 0,
      clippedNoLegalPartner: 0,
      clippedPartnersTaken: 0,
      clippedNotWorthIt: 0,
      windowClamped: 0,
      ublocksWithOutliers: 0,
    };
    this.win = outlierWindow(cfg);
    this.solver = new PairingSolver(B, cfg.recon);
    this.nX = 1 << cfg.xbits;
    this.rounder = intRounder(cfg.inFmt, cfg.rounding);
    this.inCode = new Uint8Array(2 * cfg.maxInt + 1);
    for (let q = -cfg.maxInt; q <= cfg.maxInt; q++) {
      this.inCode[q + cfg.maxInt] = encodeElement(q / 2 ** cfg.fracBits, cfg.inFmt);
    }
    this.vals = new Float64Array(B);
    this.sExp = new Int32Array(B);
    this.qIn = new Int32Array(B);
    this.eIn = new Float64Array(B);
    this.eOut = new Float64Array(B * this.nX);
    this.elemOut = new Float64Array(B * this.nX);
    this.codeOf = outlierCodeTable(cfg);
    this.clampOut = new Uint8Array(B * this.nX);
    this.final = new Float64Array(B);
  }

  /** Inlier integer of v for exponent S (saturating: candidates are "clipped" here). */
  inlierQ(v: number, S: number): number {
    return roundInt(this.rounder, v, pow2(-S));
  }

  setInlier(idx: number, q: number): void {
    this.operand[idx] = q;
    this.codes[idx] = this.inCode[q + this.cfg.maxInt]!;
  }

  /**
   * Solves μB (k, j) whose slot values, inlier exponents and inlier integers are
   * in vals / sExp / qIn, with candidate slots `candMask`. Writes the pairs'
   * slots, records the pairs, and leaves each slot's final value in `final`.
   */
  solveUblock(k: number, j: number, candMask: number): void {
    const { cfg, vals, sExp, qIn, eIn, eOut, elemOut, clampOut, final, solver, nX, win, qo } = this;
    const B = cfg.ublockSize;
    const frac = cfg.fracBits;
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
    const u = k * this.upc + j;
    this.ubX[u] = X;
    this.stats.ublocksWithOutliers++;
    const rowBase = j * B;
    const bmask = (1 << cfg.b) - 1;
    for (let a = 0; a < solver.count; a++) {
      const o = solver.pairO[a]!;
      const p = solver.pairP[a]!;
      const code = this.codeOf.get(elemOut[o * nX + X]!)!;
      const d = decodeOutlierInto(code, X, cfg, this.dec);
      const io = (rowBase + o) * this.Kp + k;
      const ip = (rowBase + p) * this.Kp + k;
      this.codes[io] = code >> cfg.b;
      this.codes[ip] = code & bmask;
      this.kind[io] = SLOT_OUTLIER;
      this.kind[ip] = SLOT_PRUNED;
      this.operand[io] = d.sign ? -d.hi : d.hi;
      this.operand[ip] = d.sign ? -d.lo : d.lo;
      final[o] = (d.sign ? -d.M : d.M) * pow2(d.shift - cfg.guardBits + sExp[o]! - frac);
      final[p] = 0;
      this.pairs.push(u, o, p, code);
      this.stats.outliers++;
      this.stats.windowClamped += clampOut[o * nX + X]!;
    }
  }

  private classifyUnpaired(candMask: number): void {
    const { solver, cfg } = this;
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
        const x = i ^ p;
        if (cfg.recon === 'butterfly' && (x & (x - 1)) !== 0) continue;
        anyLegal = true;
        if (solver.benefit[i]! - solver.cost[p]! > 0) anyGain = true;
      }
      if (!anyLegal) this.stats.clippedNoLegalPartner++;
      else if (anyGain) this.stats.clippedPartnersTaken++;
      else this.stats.clippedNotWorthIt++;
    }
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

/** Checks the weight array against its shape. */
function checkShape(W: ArrayLike<number>, N: number, K: number, skipValues: boolean): void {
  if (!Number.isInteger(N) || N < 1 || !Number.isInteger(K) || K < 1) {
    throw new InputError(`weight shape [${N}, ${K}] is not supported: both dimensions must be positive integers`);
  }
  if (W.length !== N * K) throw new InputError(`weight data holds ${W.length} values, shape [${N}, ${K}] needs ${N * K}`);
  if (skipValues) return;
  for (let i = 0; i < W.length; i++) {
    const v = W[i]!;
    if (!Number.isFinite(v)) {
      throw new InputError(`weight W[${Math.floor(i / K)}][${i % K}] is ${v}: MicroScopiQ needs finite weights`);
    }
  }
}

/**
 * Global z threshold of the top-fraction rule: the z-score (|w| - mean)/std,
 * per group, above which the given fraction of all weights lies.
 */
function topFractionThreshold(W: Float32Array | Float64Array, N: number, K: number, G: number, fraction: number): number {
  const total = N * K;
  const want = Math.floor(fraction * total);
  if (want <= 0) return Infinity;
  const z = new Float64Array(total);
  let nz = 0;
  for (let n = 0; n < N; n++) {
    for (let k0 = 0; k0 < K; k0 += G) {
      const k1 = Math.min(K, k0 + G);
      let s = 0;
      let s2 = 0;
      for (let k = k0; k < k1; k++) {
        const a = Math.abs(W[n * K + k]!);
        s += a;
        s2 += a * a;
      }
      const cnt = k1 - k0;
      const mean = s / cnt;
      const std = Math.sqrt(Math.max(0, s2 / cnt - mean * mean));
      if (!(std > 0)) continue;
      for (let k = k0; k < k1; k++) z[nz++] = (Math.abs(W[n * K + k]!) - mean) / std;
    }
  }
  if (want >= nz) return -Infinity;
  const zs = z.subarray(0, nz).sort();
  // candidates are z > thr: pick thr so that `want` values exceed it
  return zs[nz - want - 1]!;
}

/**
 * Quantizes W[N][K] (row-major [out, in]) into a MicroScopiQ layer.
 * With `calibration`, Hessian (GPTQ/OBS) mode; otherwise direct-cast.
 */
export function quantizeMicroScopiQ(W: Float32Array | Float64Array, N: number, K: number, options: QuantizeOptions = {}): MsqLayer {
  const cfg = resolveConfig(options);
  checkShape(W, N, K, !options.calibration); // direct-cast checks finiteness in its row pass
  const cal = options.calibration;
  if (cal) {
    if (cal.K !== K) {
      throw new InputError(`calibration data has ${cal.K} columns but the weight has K = ${K} inputs: the widths must match`);
    }
    if (!Number.isInteger(cal.M) || cal.M < 1) throw new InputError(`calibration data has ${cal.M} rows: give at least one activation row`);
    if (cal.X.length !== cal.M * cal.K) {
      throw new InputError(`calibration data holds ${cal.X.length} values, shape [${cal.M}, ${cal.K}] needs ${cal.M * cal.K}`);
    }
  }
  const bld = new Builder(cfg, N, K);
  bld.zThr = cfg.rule.kind === 'stddev' ? cfg.rule.k : topFractionThreshold(W, N, K, cfg.groupSize, cfg.rule.fraction);
  if (!cal) {
    // direct-cast works on float32 weights (as stored in .npy files)
    directCast(bld, W instanceof Float32Array ? W : Float32Array.from(W));
    return bld.finish();
  }
  const t0 = performance.now();
  const H = hessianFromCalibration(cal.X, cal.M, K);
  const t1 = performance.now();
  // pad to Kp: extra inputs are never active (dead) and get H_kk = 1
  let Hp = H;
  if (bld.Kp !== K) {
    Hp = new Float64Array(bld.Kp * bld.Kp);
    for (let i = 0; i < K; i++) Hp.set(H.subarray(i * K, i * K + K), i * bld.Kp);
  }
  const { U, damping } = gptqInverseFactor(Hp, bld.Kp, cfg.damping);
  const t2 = performance.now();
  gptq(bld, W, U);
  const t3 = performance.now();
  return bld.finish({
    ...damping,
    calibrationRows: cal.M,
    seconds: (t3 - t0) / 1000,
    phaseSeconds: { hessian: (t1 - t0) / 1000, factor: (t2 - t1) / 1000, gptq: (t3 - t2) / 1000 },
  });
}

/** Statistics of |w| over the real inputs of a group: returns the candidate threshold on |w| - mean, or Infinity. */
function groupThreshold(sum: number, sum2: number, cnt: number, zThr: number): { mean: number; lim: number } {
  const mean = sum / cnt;
  const std = Math.sqrt(Math.max(0, sum2 / cnt - mean * mean));
  return { mean, lim: std > 0 ? zThr * std : Infinity };
}

/**
 * Scale refinement (option scaleSearch): the MX rule S = floor(log2 max|inlier|)
 * leaves up to half of the integer range unused when the largest inlier sits just
 * above 2^S. Try S - 1 as well (twice the resolution; inliers above
 * maxInt·2^(S-1-fracBits) saturate) and keep whichever gives the lower squared
 * error over the group's non-candidate weights. Only S and S - 1 are candidates,
 * and (int4) only when max|inlier| < 1.4·2^S: above that S - 1 saturates too much to win.
 */
function refineScale(
  vals: Float32Array, off: number, stride: number, count: number,
  mean: number, lim: number, S: number, maxIn: number, r: IntRounder,
): number {
  const { thr, up, maxInt } = r;
  // Measured (docs/QUALITY.md): with int4, S - 1 wins only when max|inlier| < ~1.35·2^S;
  // with int2 (three levels) it can win up to 2^(S+1), so every group is tried.
  if (!(maxIn > 0) || maxIn >= (maxInt === 1 ? 2 : 1.4) * pow2(S) || S <= -127) return S;
  const step = 1 / up;
  let e0 = 0;
  let e1 = 0;
  const inv0 = pow2(-S);
  for (let i = 0; i < count; i++) {
    const a = Math.abs(vals[off + i * stride]!);
    if (a - mean > lim) continue;
    // exponent S
    const x0 = a * inv0;
    let t0 = x0 * up + 0.5;
    if (t0 > maxInt) t0 = maxInt;
    let q0 = t0 | 0;
    if (x0 >= thr[q0 + 1]!) q0++;
    else if (x0 < thr[q0]!) q0--;
    const d0 = x0 - q0 * step;
    e0 += d0 * d0;
    // exponent S - 1 (errors in units of 2^(S-1), hence the / 4 below)
    const x1 = x0 + x0;
    let t1 = x1 * up + 0.5;
    if (t1 > maxInt) t1 = maxInt;
    let q1 = t1 | 0;
    if (x1 >= thr[q1 + 1]!) q1++;
    else if (x1 < thr[q1]!) q1--;
    const d1 = x1 - q1 * step;
    e1 += d1 * d1;
  }
  return e1 * 0.25 < e0 ? S - 1 : S;
}

/** refineScale for the float64 working copy of Hessian mode (same body; kept monomorphic for speed). */
function refineScale64(
  vals: Float64Array, off: number, stride: number, count: number,
  mean: number, lim: number, S: number, maxIn: number, r: IntRounder,
): number {
  const seg = new Float32Array(count);
  for (let i = 0; i < count; i++) seg[i] = vals[off + i * stride]!;
  return refineScale(seg, 0, 1, count, mean, lim, S, maxIn, r);
}

interface ScaleSearch {
  rounder: IntRounder;
  /** 2·G integers: the group rounded with S, then with S - 1. */
  scratch: Int8Array;
}

/** Growable list of candidate keys k·Np + n (a float64 array sorts numerically and fast). */
class KeyList {
  a = new Float64Array(4096);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  sorted(): Float64Array {
    return this.a.subarray(0, this.n).sort();
  }
}

/** Reports the first non-finite weight of a row segment (the sums showed there is one). */
function nonFinite(W: Float32Array, wBase: number, k0: number, k1: number, n: number): never {
  for (let k = k0; k < k1; k++) {
    const v = W[wBase + k]!;
    if (!Number.isFinite(v)) throw new InputError(`weight W[${n}][${k}] is ${v}: MicroScopiQ needs finite weights`);
  }
  throw new InputError(`weights of row ${n}, inputs ${k0}..${k1 - 1} are too large: their squares overflow`);
}

/**
 * One (row, group) of the direct-cast row pass: statistics, candidates (pushed
 * as keys k·Np + n), the inlier exponent S (returned) and every slot rounded as
 * an inlier. Kept as a small function of plain arguments so V8 compiles it well.
 */
function rowGroupFast(
  W: Float32Array, Wu: Uint32Array, wBase: number, base: number, k0: number, k1: number, zThr: number,
  thr: Float64Array, up: number, maxInt: number,
  operand: Int8Array, codes: Uint8Array, inCode: Uint8Array, candKeys: KeyList, Np: number, n: number, search: ScaleSearch | null,
): number {
  const cnt = k1 - k0;
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
  const mean = s / cnt;
  const std = Math.sqrt(Math.max(0, s2 / cnt - mean * mean));
  const lim = std > 0 ? zThr * std : Infinity;
  let maxIn = 0;
  if (mx - mean <= lim) maxIn = mx; // no candidate in this group (the common case)
  else {
    for (let k = k0; k < k1; k++) {
      const a = Math.abs(W[wBase + k]!);
      if (a - mean > lim) candKeys.push(k * Np + n);
      else if (a > maxIn) maxIn = a;
    }
  }
  const S = sharedExponent(maxIn, 0);
  if (search !== null && maxIn > 0 && S > -127 && maxIn < (maxInt === 1 ? 2 : 1.4) * pow2(S)) {
    return rowGroupSearch(W, Wu, wBase, base, k0, k1, mean, lim, thr, up, maxInt, operand, codes, inCode, S, search.scratch);
  }
  const inv = pow2(-S);
  for (let k = k0; k < k1; k++) {
    // roundInt (int-rounder.ts), inlined. |v|·2^-S is exact for a float32 v (no
    // fround needed): a product too small for a float32 normal rounds to 0 and a
    // huge one saturates either way.
    const a = Math.abs(W[wBase + k]!) * inv;
    let t = a * up + 0.5;
    if (t > maxInt) t = maxInt; // also keeps huge candidates inside int32
    let q = t | 0; // floor, t >= 0
    if (a >= thr[q + 1]!) q++;
    else if (a < thr[q]!) q--;
    const neg = Wu[wBase + k]! >>> 31; // sign bit; branch-free negation
    q = (q ^ -neg) + neg;
    operand[base + k] = q;
    codes[base + k] = inCode[q + maxInt]!;
  }
  return S;
}

/**
 * The last pass of rowGroupFast with scale search (see refineScale): rounds every
 * weight for both S and S - 1 in one pass, sums the errors of the non-candidates,
 * then stores the better one. Returns the chosen exponent.
 */
function rowGroupSearch(
  W: Float32Array, Wu: Uint32Array, wBase: number, base: number, k0: number, k1: number, mean: number, lim: number,
  thr: Float64Array, up: number, maxInt: number,
  operand: Int8Array, codes: Uint8Array, inCode: Uint8Array, S: number, scratch: Int8Array,
): number {
  const inv0 = pow2(-S);
  const step = 1 / up;
  const n = k1 - k0;
  let e0 = 0;
  let e1 = 0;
  if (maxInt === 1) {
    // int2: q = (x >= thr[1]) ? 1 : 0 (thr[2] = Infinity, so it saturates at 1); errors in units of 2^S
    const t1 = thr[1]!;
    for (let i = 0; i < n; i++) {
      const raw = Math.abs(W[wBase + k0 + i]!);
      const x0 = raw * inv0;
      const x1 = x0 + x0;
      const q0 = +(x0 >= t1);
      const q1 = +(x1 >= t1);
      if (!(raw - mean > lim)) {
        const d0 = x0 - q0;
        const d1 = x1 - q1;
        e0 += d0 * d0;
        e1 += d1 * d1;
      }
      const neg = Wu[wBase + k0 + i]! >>> 31;
      scratch[i] = (q0 ^ -neg) + neg;
      scratch[n + i] = (q1 ^ -neg) + neg;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const raw = Math.abs(W[wBase + k0 + i]!);
      const x0 = raw * inv0;
      let t0 = x0 * up + 0.5;
      if (t0 > maxInt) t0 = maxInt;
      let q0 = t0 | 0;
      if (x0 >= thr[q0 + 1]!) q0++;
      else if (x0 < thr[q0]!) q0--;
      const x1 = x0 + x0;
      let t1 = x1 * up + 0.5;
      if (t1 > maxInt) t1 = maxInt;
      let q1 = t1 | 0;
      if (x1 >= thr[q1 + 1]!) q1++;
      else if (x1 < thr[q1]!) q1--;
      if (!(raw - mean > lim)) {
        const d0 = x0 - q0 * step;
        const d1 = x1 - q1 * step;
        e0 += d0 * d0;
        e1 += d1 * d1;
      }
      const neg = Wu[wBase + k0 + i]! >>> 31;
      scratch[i] = (q0 ^ -neg) + neg;
      scratch[n + i] = (q1 ^ -neg) + neg;
    }
  }
  const pick = e1 * 0.25 < e0 ? n : 0; // errors of S - 1 are in units of 2^(S-1)
  for (let i = 0; i < n; i++) {
    const q = scratch[pick + i]!;
    operand[base + k0 + i] = q;
    codes[base + k0 + i] = inCode[q + maxInt]!;
  }
  return pick ? S - 1 : S;
}

/** rowGroupFast for roundings with exception tables. */
function rowGroupGeneric(
  W: Float32Array, wBase: number, base: number, k0: number, k1: number, zThr: number, rounder: IntRounder,
  operand: Int8Array, codes: Uint8Array, inCode: Uint8Array, candKeys: KeyList, Np: number, n: number, search: ScaleSearch | null,
): number {
  const cnt = k1 - k0;
  let s = 0;
  let s2 = 0;
  for (let k = k0; k < k1; k++) {
    const a = Math.abs(W[wBase + k]!);
    s += a;
    s2 += a * a;
  }
  if (!Number.isFinite(s2)) nonFinite(W, wBase, k0, k1, n);
  const mean = s / cnt;
  const std = Math.sqrt(Math.max(0, s2 / cnt - mean * mean));
  const lim = std > 0 ? zThr * std : Infinity;
  let maxIn = 0;
  for (let k = k0; k < k1; k++) {
    const a = Math.abs(W[wBase + k]!);
    if (a - mean > lim) candKeys.push(k * Np + n);
    else if (a > maxIn) maxIn = a;
  }
  let S = sharedExponent(maxIn, 0);
  if (search !== null) S = refineScale(W, wBase + k0, 1, k1 - k0, mean, lim, S, maxIn, search.rounder);
  const inv = pow2(-S);
  for (let k = k0; k < k1; k++) {
    const q = roundInt(rounder, W[wBase + k]!, inv);
    operand[base + k] = q;
    codes[base + k] = inCode[q + rounder.maxInt]!;
  }
  return S;
}

/** Direct-cast: row pass per group (contiguous), then the μBs that hold candidates. */
function directCast(bld: Builder, W: Float32Array): void {
  const { cfg, N, K, Np, Kp, groups } = bld;
  const G = cfg.groupSize;
  const B = cfg.ublockSize;
  const zThr = bld.zThr;
  const rounder = intRounder(cfg.inFmt, cfg.rounding);
  const { thr, up, maxInt } = rounder;
  const hasExc = rounder.exceptions !== null;
  const operand = bld.operand;
  const codes = bld.codes;
  const scales = bld.scales;
  const inCode = bld.inCode;
  const zeroS = sharedExponent(0, 0);
  const Wu = new Uint32Array(W.buffer, W.byteOffset, W.length);
  const search = cfg.scaleSearch ? { rounder, scratch: new Int8Array(2 * G) } : null;
  const candList = new KeyList();
  for (let g = 0; g < groups; g++) {
    const k0 = g * G;
    const k1 = Math.min(K, k0 + G);
    const cnt = k1 - k0;
    candList.n = 0;
    for (let n = 0; n < Np; n++) {
      const si = n * groups + g;
      if (n >= N || cnt <= 0) {
        scales[si] = zeroS;
        // codes/operands of zero slots are already 0 (two's complement zero)
        continue;
      }
      scales[si] = hasExc
        ? rowGroupGeneric(W, n * K, n * Kp, k0, k1, zThr, rounder, operand, codes, inCode, candList, Np, n, search)
        : rowGroupFast(W, Wu, n * K, n * Kp, k0, k1, zThr, thr, up, maxInt, operand, codes, inCode, candList, Np, n, search);
    }
    if (candList.n === 0) continue;
    bld.stats.candidates += candList.n;
    const candKeys = candList.sorted();
    // walk μBs in (k, j) order
    let c = 0;
    while (c < candKeys.length) {
      const key = candKeys[c]!;
      const k = Math.floor(key / Np);
      const j = Math.floor((key % Np) / B);
      let mask = 0;
      while (c < candKeys.length) {
        const kk = candKeys[c]!;
        if (Math.floor(kk / Np) !== k || Math.floor((kk % Np) / B) !== j) break;
        mask |= 1 << ((kk % Np) - j * B);
        c++;
      }
      for (let i = 0; i < B; i++) {
        const n = j * B + i;
        bld.vals[i] = n < N ? W[n * K + k]! : 0;
        bld.sExp[i] = scales[n * groups + g]!;
        bld.qIn[i] = operand[n * Kp + k]!;
      }
      bld.solveUblock(k, j, mask);
    }
  }
}

/**
 * GPTQ's lazy block update: W[n][j] -= Σ_t Err[t][n] · U[i1+t][j] for j >= i2,
 * tiled over j so the U tile stays in cache; four error terms per pass over the
 * W row segment.
 */
function lazyUpdate(Wf: Float64Array, Err: Float64Array, U: Float64Array, N: number, Np: number, Kp: number, i1: number, nb: number, i2: number): void {
  const JT = 256;
  for (let j0 = i2; j0 < Kp; j0 += JT) {
    const j1 = Math.min(Kp, j0 + JT);
    for (let n = 0; n < N; n++) {
      const wr = n * Kp;
      let t = 0;
      for (; t + 3 < nb; t += 4) {
        const e0 = Err[t * Np + n]!;
        const e1 = Err[(t + 1) * Np + n]!;
        const e2 = Err[(t + 2) * Np + n]!;
        const e3 = Err[(t + 3) * Np + n]!;
        const u0 = (i1 + t) * Kp;
        const u1 = u0 + Kp;
        const u2 = u1 + Kp;
        const u3 = u2 + Kp;
        for (let jj = j0; jj < j1; jj++) {
          Wf[wr + jj] = Wf[wr + jj]! - (e0 * U[u0 + jj]! + e1 * U[u1 + jj]! + (e2 * U[u2 + jj]! + e3 * U[u3 + jj]!));
        }
      }
      for (; t < nb; t++) {
        const e = Err[t * Np + n]!;
        if (e === 0) continue;
        const ur = (i1 + t) * Kp;
        for (let jj = j0; jj < j1; jj++) Wf[wr + jj]! -= e * U[ur + jj]!;
      }
    }
  }
}

/**
 * Hessian mode: GPTQ with lazy block updates. W is copied into a padded
 * float64 matrix; each block of columns is transposed into Wb[t][n] so that the
 * column-by-column work runs over contiguous memory.
 */
function gptq(bld: Builder, W: Float32Array | Float64Array, U: Float64Array): void {
  const { cfg, N, K, Np, Kp, groups } = bld;
  const G = cfg.groupSize;
  const B = cfg.ublockSize;
  const frac = cfg.fracBits;
  const zThr = bld.zThr;
  const BC = cfg.gptqBlock;
  const Wf = new Float64Array(Np * Kp);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) Wf[n * Kp + k] = W[n * K + k]!;
  const Wb = new Float64Array(BC * Np);
  const Err = new Float64Array(BC * Np);
  const sum = new Float64Array(Np);
  const sum2 = new Float64Array(Np);
  const maxIn = new Float64Array(Np);
  const lim = new Float64Array(Np);
  const mean = new Float64Array(Np);
  const cand = new Uint8Array(G * Np); // candidate flags of the current group [t][n]
  const ubMask = new Int32Array(Np / B);
  for (let i1 = 0; i1 < Kp; i1 += BC) {
    const i2 = Math.min(Kp, i1 + BC);
    const nb = i2 - i1;
    for (let t = 0; t < nb; t++) for (let n = 0; n < Np; n++) Wb[t * Np + n] = Wf[n * Kp + i1 + t]!;
    for (let k = i1; k < i2; k++) {
      const t = k - i1;
      const g = Math.floor(k / G);
      const k0 = g * G;
      if (k === k0) {
        // group start: statistics on the compensated weights of the whole group
        const kEnd = Math.min(K, k0 + G);
        const cnt = kEnd - k0;
        sum.fill(0);
        sum2.fill(0);
        maxIn.fill(0);
        cand.fill(0);
        for (let kk = k0; kk < kEnd; kk++) {
          const r = (kk - i1) * Np;
          for (let n = 0; n < N; n++) {
            const a = Math.abs(Wb[r + n]!);
            sum[n]! += a;
            sum2[n]! += a * a;
          }
        }
        for (let n = 0; n < N; n++) {
          if (cnt <= 0) {
            lim[n] = Infinity;
            mean[n] = 0;
            continue;
          }
          const th = groupThreshold(sum[n]!, sum2[n]!, cnt, zThr);
          lim[n] = th.lim;
          mean[n] = th.mean;
        }
        for (let kk = k0; kk < kEnd; kk++) {
          const r = (kk - i1) * Np;
          const rc = (kk - k0) * Np;
          for (let n = 0; n < N; n++) {
            const a = Math.abs(Wb[r + n]!);
            if (a - mean[n]! > lim[n]!) {
              cand[rc + n] = 1;
              bld.stats.candidates++;
            } else if (a > maxIn[n]!) maxIn[n] = a;
          }
        }
        for (let n = 0; n < Np; n++) {
          let S = sharedExponent(n < N ? Math.fround(maxIn[n]!) : 0, 0);
          if (cfg.scaleSearch && n < N && cnt > 0) {
            S = refineScale64(Wb, (k0 - i1) * Np + n, Np, cnt, mean[n]!, lim[n]!, S, Math.fround(maxIn[n]!), bld.rounder);
          }
          bld.scales[n * groups + g] = S;
        }
      }
      // quantize column k
      const r = t * Np;
      const rc = (k - k0) * Np;
      const d = U[k * Kp + k]!;
      ubMask.fill(0);
      for (let n = 0; n < Np; n++) {
        const S = bld.scales[n * groups + g]!;
        const v = Wb[r + n]!;
        const q = n < N ? bld.inlierQ(v, S) : 0;
        bld.setInlier(n * Kp + k, q);
        Err[r + n] = (v - q * pow2(S - frac)) / d;
        if (cand[rc + n]) ubMask[Math.floor(n / B)]! |= 1 << n % B;
      }
      for (let j = 0; j < Np / B; j++) {
        const mask = ubMask[j]!;
        if (mask === 0) continue;
        for (let i = 0; i < B; i++) {
          const n = j * B + i;
          bld.vals[i] = Wb[r + n]!;
          bld.sExp[i] = bld.scales[n * groups + g]!;
          bld.qIn[i] = bld.operand[n * Kp + k]!;
        }
        bld.solveUblock(k, j, mask);
        for (let i = 0; i < B; i++) {
          const n = j * B + i;
          Err[r + n] = (bld.vals[i]! - bld.final[i]!) / d;
        }
      }
      // in-block compensation of columns k+1 .. i2-1
      const Uk = k * Kp;
      for (let tt = t + 1; tt < nb; tt++) {
        const ukj = U[Uk + i1 + tt]!;
        if (ukj === 0) continue;
        const rr = tt * Np;
        for (let n = 0; n < N; n++) Wb[rr + n]! -= Err[r + n]! * ukj;
      }
    }
    // lazy update of columns i2 .. Kp-1: W[n][j] -= Σ_t Err[t][n] · U[i1+t][j]
    if (i2 < Kp) lazyUpdate(Wf, Err, U, N, Np, Kp, i1, nb, i2);

  }
}
