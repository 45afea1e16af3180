/**
 * Reference of the arithmetic contract (docs/ARITHMETIC.md): Y = X·Wᵀ computed
 * exactly as the accelerator must, bit for bit, and the float reference.
 *
 * Lane value of weight slot (n, k) in accumulator units (2^-F inlier LSBs):
 *   inlier  q · 2^F
 *   outlier s · M · 2^shift      (= ((s·hi·x << L) + s·lo·x) << shift in ReCoN)
 *   pruned  0
 * Group accumulator  acc[m][n][g] = Σ_{k in group g} lane(n, k) · qx[m][k]  (exact integer)
 * Group term         t_g = fl32(acc · 2^(S_w[n][g] - (b-2) - F + S_x[m][g] - (a-2)))  (one RNE rounding)
 * Output             y = +0; for g = 0, 1, ...: y = fl32(y + t_g)           (FP32 adds, RNE)
 */
import type { MsqLayer } from './layer.ts';
import { SLOT_INLIER, SLOT_OUTLIER } from './layer.ts';
import type { MsqActivations } from './activations.ts';
import { pow2 } from './pow2.ts';

/** Lane values of every slot, [n][k] with stride Kp (accumulator units). */
export function laneValues(layer: MsqLayer): Int32Array {
  const cfg = layer.config;
  const lanes = new Int32Array(layer.Np * layer.Kp);
  const f = 2 ** cfg.guardBits;
  for (let i = 0; i < lanes.length; i++) if (layer.kind[i] === SLOT_INLIER) lanes[i] = layer.operand[i]! * f;
  const P = layer.pairs;
  const B = cfg.ublockSize;
  for (let p = 0; p < P.ublock.length; p++) {
    const u = P.ublock[p]!;
    const k = Math.floor(u / layer.ublocksPerColumn);
    const n = (u % layer.ublocksPerColumn) * B + P.outlier[p]!;
    const i = n * layer.Kp + k;
    if (layer.kind[i] !== SLOT_OUTLIER) throw new Error(`internal: pair ${p} does not point at an outlier slot`);
    lanes[i] = (P.sign[p] ? -P.M[p]! : P.M[p]!) * 2 ** P.shift[p]!;
  }
  return lanes;
}

function checkCompatible(acts: MsqActivations, layer: MsqLayer): void {
  if (acts.K !== layer.K || acts.groupSize !== layer.config.groupSize) {
    throw new RangeError(
      `activations [${acts.M}, ${acts.K}] with groups of ${acts.groupSize} do not fit weights [${layer.N}, ${layer.K}] with groups of ${layer.config.groupSize}`,
    );
  }
}

/** Exact integer group accumulators acc[m][n][g] (index (m·N + n)·groups + g), as float64 (exact: |acc| < 2^53). */
export function groupAccumulators(acts: MsqActivations, layer: MsqLayer, lanes = laneValues(layer)): Float64Array {
  checkCompatible(acts, layer);
  const { N, Kp, groups } = layer;
  const G = layer.config.groupSize;
  const out = new Float64Array(acts.M * N * groups);
  for (let m = 0; m < acts.M; m++) {
    const xr = m * Kp;
    for (let n = 0; n < N; n++) {
      const wr = n * Kp;
      for (let g = 0; g < groups; g++) {
        let acc = 0;
        for (let k = g * G; k < (g + 1) * G; k++) acc += lanes[wr + k]! * acts.q[xr + k]!;
        out[(m * N + n) * groups + g] = acc;
      }
    }
  }
  return out;
}

/** Exponent of group term (m, n, g): S_w - (b-2) - F + S_x - (a-2). */
export function groupExponent(acts: MsqActivations, layer: MsqLayer, m: number, n: number, g: number): number {
  const cfg = layer.config;
  return layer.scales[n * layer.groups + g]! - cfg.fracBits - cfg.guardBits + acts.scales[m * acts.groups + g]! - acts.fracBits;
}

/** Y[M][N] (float32) exactly as the contract defines it. */
export function referenceMatmul(acts: MsqActivations, layer: MsqLayer): Float32Array {
  const acc = groupAccumulators(acts, layer);
  const { N, groups } = layer;
  const Y = new Float32Array(acts.M * N);
  const fround = Math.fround;
  for (let m = 0; m < acts.M; m++) {
    for (let n = 0; n < N; n++) {
      let y = 0;
      for (let g = 0; g < groups; g++) {
        // acc·2^E is exact in float64 (|acc| < 2^53, E within double range), so fround rounds once (RNE)
        const t = fround(acc[(m * N + n) * groups + g]! * pow2(groupExponent(acts, layer, m, n, g)));
        y = fround(y + t);
      }
      Y[m * N + n] = y;
    }
  }
  return Y;
}

/** Σ_k x̂[m][k]·ŵ[n][k] of the dequantized operands in float64, Y[M][N]; and the bound of |Y_contract - Y_float|. */
export function floatReference(acts: MsqActivations, layer: MsqLayer): { Y: Float64Array; bound: Float64Array } {
  const acc = groupAccumulators(acts, layer);
  const { N, groups } = layer;
  const Y = new Float64Array(acts.M * N);
  const bound = new Float64Array(acts.M * N);
  const u = 2 ** -24; // unit roundoff of float32
  for (let m = 0; m < acts.M; m++) {
    for (let n = 0; n < N; n++) {
      let y = 0;
      let sAbs = 0;
      for (let g = 0; g < groups; g++) {
        const t = acc[(m * N + n) * groups + g]! * pow2(groupExponent(acts, layer, m, n, g));
        y += t;
        sAbs += Math.abs(t);
      }
      Y[m * N + n] = y;
      // each t_g rounded once (rel. error u) and `groups` float32 additions: |err| <= ((1+u)^(groups+1) - 1)·Σ|t_g| + tiny subnormal slack
      bound[m * N + n] = ((1 + u) ** (groups + 1) - 1) * sAbs * (1 + 1e-12) + (groups + 1) * 2 ** -150;
    }
  }
  return { Y, bound };
}

/** Width in bits (sign included) of a group accumulator that can never overflow for this layer configuration. */
export function accumulatorBits(layer: Pick<MsqLayer, 'config'>, abits: number): number {
  const cfg = layer.config;
  const xMax = 2 ** (abits - 1) - 1;
  const mMax = 2 ** (cfg.outFmt.mbits + 1) - 1;
  const laneMax = Math.max(cfg.maxInt * 2 ** cfg.guardBits, mMax * 2 ** cfg.maxShift);
  const maxAbs = cfg.groupSize * laneMax * xMax;
  return Math.ceil(Math.log2(maxAbs + 1)) + 1;
}
