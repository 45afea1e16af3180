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
 *
 * Files: layer-builder.ts (the arrays a run fills), group-stats.ts (the outlier
 * rule's statistics), row-pass.ts and direct-cast.ts, gptq.ts, scale-search.ts,
 * ublock-solver.ts, growable.ts (typed buffers that grow).
 */
import { InputError } from '../../common/errors.ts';
import { resolveConfig, type MsqOptions } from './config.ts';
import { directCast } from './direct-cast.ts';
import { gptq } from './gptq.ts';
import { topFractionThreshold } from './group-stats.ts';
import { gptqInverseFactor, hessianFromCalibration } from './hessian.ts';
import { LayerBuilder } from './layer-builder.ts';
import type { MsqLayer } from './layer.ts';

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
  const bld = new LayerBuilder(cfg, N, K);
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
