/**
 * Outlier codes: rounding an outlier onto its 2b-bit FP grid inside the
 * hardware's shift window, and decoding a code into what the PE array and
 * ReCoN consume (sign, significand M split into hi/lo, shift).
 *
 *   code  = sign | e (ebits) | m (mbits)          (quant/formats.ts layout)
 *   M     = (e > 0 ? 2^mbits : 0) + m             (implicit bit included)
 *   hi    = M >> L, lo = M & (2^L - 1), L = b - 1  (both <= 2^(b-1) - 1)
 *   shift = max(e, 1) + X + c                     (c = config.shiftConst)
 *   value = (-1)^sign · M · 2^(shift - F) · 2^(S - (b-2))
 *
 * Slot split: the upper b bits of the code go to the outlier's own slot, the
 * lower b bits to its pruned partner slot.
 */
import { quantizeElement, encodeElement, decodeElement } from '../element.ts';
import type { MsqConfig } from './config.ts';
import { pow2 } from './pow2.ts';

export interface OutlierWindow {
  /** Per X: the largest magnitude (in FP element units) whose shift is <= maxShift. */
  maxMag: Float64Array;
  /** Per X: the smallest nonzero magnitude whose shift is >= 0. */
  minMag: Float64Array;
}

/** The usable magnitude range of the outlier element grid for each value of X. */
export function outlierWindow(cfg: MsqConfig): OutlierWindow {
  const f = cfg.outFmt;
  const nX = 1 << cfg.xbits;
  const efTop = (1 << f.ebits) - 1;
  const maxMag = new Float64Array(nX);
  const minMag = new Float64Array(nX);
  for (let X = 0; X < nX; X++) {
    const efMin = Math.max(1, -X - cfg.shiftConst);
    const efMax = Math.min(efTop, cfg.maxShift - X - cfg.shiftConst);
    maxMag[X] = efMax >= efTop ? f.maxNormal : 2 ** (efMax - f.bias) * (2 - 2 ** -f.mbits);
    minMag[X] = efMin <= 1 ? f.minSubnormal : 2 ** (efMin - f.bias);
  }
  return { maxMag, minMag };
}

export interface QuantizedOutlier {
  /** The 2b-bit FP code (only when quantizeOutlier was asked for it, else -1). */
  code: number;
  /** Value in units of 2^(S + D0 + X) (an FP element value). */
  elem: number;
  /** Whether the window moved the value (counted as a clamp). */
  clamped: boolean;
  /** Whether the value lies beyond the top code of the window at this X by more than rounding: it was clipped to that code (counted as saturated). */
  saturated: boolean;
}

/**
 * Rounds `v` (a weight) onto the outlier grid of a slot whose inlier exponent
 * is S, for μB field X, restricted to the shift window. Never returns -0.
 */
export function quantizeOutlier(v: number, S: number, X: number, cfg: MsqConfig, win: OutlierWindow, out: QuantizedOutlier, withCode = true): void {
  const a = v * pow2(-(S + cfg.outlierExpOffset + X));
  let q = quantizeElement(a, cfg.outFmt, cfg.rounding);
  let clamped = false;
  const aq = Math.abs(q);
  const maxM = win.maxMag[X]!;
  const minM = win.minMag[X]!;
  if (aq > maxM) {
    q = q < 0 ? -maxM : maxM;
    clamped = true;
  } else if (aq !== 0 && aq < minM) {
    q = Math.abs(a) >= minM / 2 ? (q < 0 ? -minM : minM) : 0;
    clamped = true;
  }
  if (q === 0) q = 0; // no -0
  // the top code at this X: the format's largest value or the window's, whichever is lower;
  // beyond it by half its ulp or more, rounding alone would have gone higher
  const top = Math.min(maxM, cfg.outFmt.maxNormal);
  out.saturated = Math.abs(a) >= top + pow2(Math.floor(Math.log2(top)) - cfg.outFmt.mbits - 1);
  out.code = withCode ? encodeElement(q, cfg.outFmt) : -1;
  out.elem = q;
  out.clamped = clamped;
}

export interface DecodedOutlier {
  sign: number;
  e: number;
  m: number;
  M: number;
  hi: number;
  lo: number;
  shift: number;
}

/** Decodes a 2b-bit outlier code for μB field X. */
export function decodeOutlier(code: number, X: number, cfg: MsqConfig): DecodedOutlier {
  return decodeOutlierInto(code, X, cfg, { sign: 0, e: 0, m: 0, M: 0, hi: 0, lo: 0, shift: 0 });
}

/** decodeOutlier writing into `out` (no allocation); returns `out`. */
export function decodeOutlierInto(code: number, X: number, cfg: MsqConfig, out: DecodedOutlier): DecodedOutlier {
  const f = cfg.outFmt;
  const e = (code >> f.mbits) & ((1 << f.ebits) - 1);
  const m = code & ((1 << f.mbits) - 1);
  const M = (e > 0 ? 1 << f.mbits : 0) + m;
  out.sign = (code >> (f.bits - 1)) & 1;
  out.e = e;
  out.m = m;
  out.M = M;
  out.hi = M >> cfg.splitL;
  out.lo = M & ((1 << cfg.splitL) - 1);
  out.shift = Math.max(e, 1) + X + cfg.shiftConst;
  return out;
}

/** Whether a 2b-bit code is the NaN of its format (E4M3: S.1111.111); the quantizer never emits it. */
export function isOutlierNaN(code: number, cfg: MsqConfig): boolean {
  const magnitude = (1 << (2 * cfg.b - 1)) - 1;
  return cfg.outFmt.specials === 'nan-only-all-ones' && (code & magnitude) === magnitude;
}

/** Upper b bits of an outlier code (stored in the outlier's own slot). */
export function upperHalf(code: number, cfg: MsqConfig): number {
  return code >> cfg.b;
}

/** Lower b bits of an outlier code (stored in the partner slot). */
export function lowerHalf(code: number, cfg: MsqConfig): number {
  return code & ((1 << cfg.b) - 1);
}

/** Outlier value in units of the inlier LSB 2^(S - (b-2)): s·M·2^(shift - F). */
export function outlierValueInLsb(d: DecodedOutlier, cfg: MsqConfig): number {
  return (d.sign ? -d.M : d.M) * 2 ** (d.shift - cfg.guardBits);
}

/**
 * Code of every value of the outlier grid, for fast encoding in loops: the
 * table is built from quant/element.ts's decoder (every code once), so it is
 * the inverse of the one definition. -0 maps to the +0 code.
 */
export function outlierCodeTable(cfg: MsqConfig): Map<number, number> {
  const t = new Map<number, number>();
  const f = cfg.outFmt;
  for (let c = 0; c < 1 << f.bits; c++) {
    const v = decodeElement(c, f);
    if (!Number.isFinite(v) || Object.is(v, -0)) continue;
    if (!t.has(v)) t.set(v, c);
  }
  return t;
}
