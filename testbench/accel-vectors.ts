import { llmLikeActivations, plantedCapacity, plantedOutlierWeights, plantedPerGroup } from '../quant/microscopiq/synthetic.ts';
import { resolveConfig } from '../quant/microscopiq/config.ts';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { quantizeActivations, type MsqActivations } from '../quant/microscopiq/activations.ts';
import { referenceMatmul } from '../quant/microscopiq/reference.ts';
import type { MsqLayer } from '../quant/microscopiq/layer.ts';
import { accelQuantizerOptions, type AccelConfig } from '../generator/accel-config.ts';
import { accelWeightStream } from '../quant/hwmodel/accel-streams.ts';
import { reconTopologyModel } from '../quant/hwmodel/recon-topologies.ts';
import { InputError, checkIntRange } from '../common/errors.ts';

export interface ProblemOptions {
  M: number;
  K: number;
  N: number;
  /**
   * fraction of the N·K weights that are outliers: planted so that the quantizer
   * flags exactly them and stores each one (with --no-outliers the plain array
   * clips them); at most outlierRateLimit(c, N, K)
   */
  outlierRate: number;
  seed: number;
}

/** A GEMM larger than the array in K and N (several tiles each, a partial N-tile), small enough to simulate quickly. */
export function defaultProblem(c: AccelConfig): Omit<ProblemOptions, 'seed' | 'outlierRate'> {
  return { M: 24, K: Math.max(2 * c.group, 4 * c.rows), N: 2 * c.cols + c.ublock };
}

export interface AccelVectors {
  layer: MsqLayer;
  acts: MsqActivations;
  /** Y[M][N] of the arithmetic contract, binary32 */
  Y: Float32Array;
  /** the problem as the hardware sees it (K padded to a multiple of G) */
  dims: { M: number; K: number; N: number };
  weightWords: Uint32Array;
  /** activation beats, R codes then the scale code, as BigInt words */
  activationBeats: bigint[];
  /** result beats, COLS binary32 words each */
  resultBeats: bigint[];
}

/** Number of N-tiles and M-chunks of a problem. */
export function tiling(c: AccelConfig, M: number, N: number): { nTiles: number; chunks: { m0: number; rows: number }[] } {
  const nTiles = Math.ceil(N / c.cols);
  const chunks: { m0: number; rows: number }[] = [];
  for (let m0 = 0; m0 < M; m0 += c.depth) chunks.push({ m0, rows: Math.min(c.depth, M - m0) });
  return { nTiles, chunks };
}

/** The outlier rule the accelerator's quantizer applies (with --no-outliers: the rule of the same array with outliers). */
function outlierRuleK(c: AccelConfig): number {
  const rule = resolveConfig(accelQuantizerOptions({ ...c, outliers: true })).rule;
  if (rule.kind !== 'stddev') throw new Error('internal: the accelerator quantizer is expected to use the mean + k·std rule');
  return rule.k;
}

function plantOptions(c: AccelConfig, rate: number) {
  return { rate, groupSize: c.group, stdDev: outlierRuleK(c), ublockSize: c.ublock, recon: c.recon };
}

export interface OutlierRateLimit {
  /** the largest --outlier-rate for this configuration and problem */
  limit: number;
  /** outliers a full group of G inputs can hold */
  perGroup: number;
  /** k of the quantizer's rule |w| > mean + k·std */
  k: number;
  /** why, in words */
  reason: string;
}

/**
 * The largest fraction of stored outliers the synthetic weights can have for
 * this configuration, and why. Three limits apply; the first is the binding one:
 *  - the quantizer's rule |w| - mean > k·std per group of G inputs (k = 3):
 *    Cantelli's inequality lets fewer than G/(1 + k²) weights of a group lie
 *    that far above its mean; the generator plants floor(0.95·G/(1 + k²))
 *    (quant/microscopiq/synthetic.ts), e.g. 3 of 32 (9.375 %), 1 of 16 (6.25 %),
 *    6 of 64, none below G = 11;
 *  - a μB of B slots holds at most B/2 outliers, each with a pruned partner
 *    slot in the same μB (50 %);
 *  - the butterfly merges a pair only at a power-of-two lane distance; B/2
 *    outliers still fit (pairs along one stage), the generator picks lanes
 *    that stay pairable.
 */
export function outlierRateLimit(c: AccelConfig, N: number, K: number): OutlierRateLimit {
  const k = outlierRuleK(c);
  const perGroup = plantedPerGroup(c.group, k);
  const limit = plantedCapacity(N, K, c.group, k) / (N * K);
  const bound = c.group / (1 + k * k);
  const partial = K % c.group !== 0 ? `, fewer in the partial last group of ${K % c.group}` : '';
  const reason =
    `the quantizer flags |w| > mean + ${k}·std over each group of G = ${c.group} inputs, and by Cantelli's inequality ` +
    `fewer than G/(1 + ${k}²) = ${+bound.toFixed(3)} weights of a group can lie that far above its mean ` +
    `(the generator plants at most ${perGroup} per group, 5 % below the bound${partial}); ` +
    `a μB of B = ${c.ublock} would take up to ${c.ublock / 2} (each outlier needs a pruned partner slot` +
    `${reconTopologyModel(c.recon).partnerNote}), so the group rule is the limit`;
  return { limit, perGroup, k, reason };
}

/** Refuses a problem whose sizes are out of range or whose --outlier-rate is not a number in 0..outlierRateLimit. */
export function checkProblem(c: AccelConfig, p: ProblemOptions): void {
  checkIntRange('--m', p.M, 1, 65535);
  checkIntRange('--k', p.K, 1, 65535);
  checkIntRange('--n', p.N, 1, 65535);
  const { limit, reason } = outlierRateLimit(c, p.N, p.K);
  const r = p.outlierRate;
  if (r >= 0 && r <= limit) return;
  const allowed = `allowed numbers 0..${+limit.toPrecision(6)}`;
  if (!(r >= 0) || !(r <= 1)) throw new InputError(`--outlier-rate ${r} is out of range: ${allowed}`);
  throw new InputError(`--outlier-rate ${r} is above the limit ${+limit.toPrecision(6)} of this configuration: ${reason}; ${allowed}`);
}

/**
 * Quantizes random LLM-like weights with the MicroScopiQ quantizer configured
 * exactly as the hardware (or plain MX-INT for --no-outliers) and MX-INT-a
 * activations, and lays out the three streams in the order of
 * docs/ARCHITECTURE.md with the contract's results. Deterministic per seed.
 */
export function makeAccelVectors(c: AccelConfig, p: ProblemOptions): AccelVectors {
  checkProblem(c, p);
  const { W } = plantedOutlierWeights(p.N, p.K, p.seed, plantOptions(c, p.outlierRate));
  const layer = quantizeMicroScopiQ(W, p.N, p.K, accelQuantizerOptions(c));
  const X = llmLikeActivations(p.M, p.K, p.seed + 1, p.seed + 2);
  const acts = quantizeActivations(X, p.M, p.K, { bits: c.abits, groupSize: c.group });
  const Y = referenceMatmul(acts, layer);
  const Kp = layer.Kp;
  if (Kp > 65535) throw new InputError(`--k ${p.K} pads to ${Kp}, more than the 16-bit dim_k`);
  const { nTiles, chunks } = tiling(c, p.M, p.N);

  const weightWords = accelWeightStream(layer, c, p.M);

  const activationBeats: bigint[] = [];
  const resultBeats: bigint[] = [];
  const aMask = (1n << BigInt(c.abits)) - 1n;
  const yBits = new Uint32Array(new Float32Array(Y).buffer);
  for (let nt = 0; nt < nTiles; nt++) {
    for (const ch of chunks) {
      for (let kt = 0; kt < Kp / c.rows; kt++) {
        const g = Math.floor((kt * c.rows) / c.group);
        for (let m = ch.m0; m < ch.m0 + ch.rows; m++) {
          let beat = 0n;
          for (let r = 0; r < c.rows; r++) beat |= (BigInt(acts.q[m * Kp + kt * c.rows + r]!) & aMask) << BigInt(r * c.abits);
          beat |= BigInt(acts.scales[m * acts.groups + g]! + 127) << BigInt(c.rows * c.abits);
          activationBeats.push(beat);
        }
      }
      for (let m = ch.m0; m < ch.m0 + ch.rows; m++) {
        let row = 0n;
        for (let col = 0; col < c.cols; col++) {
          const n = nt * c.cols + col;
          const bits = n < p.N ? yBits[m * p.N + n]! : 0; // columns past N: zero weights give +0
          row |= BigInt(bits) << BigInt(32 * col);
        }
        resultBeats.push(row);
      }
    }
  }
  return { layer, acts, Y, dims: { M: p.M, K: Kp, N: p.N }, weightWords, activationBeats, resultBeats };
}

/** readmemh text: one hex word per line, fixed width. */
export function hexLines(words: Iterable<bigint | number>, bits: number): string {
  const digits = Math.ceil(bits / 4);
  const out: string[] = [];
  for (const w of words) out.push(BigInt(w).toString(16).padStart(digits, '0'));
  return out.join('\n') + '\n';
}
