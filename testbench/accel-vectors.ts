import { llmLikeActivations, llmLikeWeights } from '../quant/microscopiq/synthetic.ts';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { quantizeActivations, type MsqActivations } from '../quant/microscopiq/activations.ts';
import { referenceMatmul } from '../quant/microscopiq/reference.ts';
import type { MsqLayer } from '../quant/microscopiq/layer.ts';
import { accelQuantizerOptions, type AccelConfig } from '../generator/accel-config.ts';
import { accelWeightStream } from '../quant/hwmodel/accel-streams.ts';
import { InputError, checkIntRange } from '../common/errors.ts';

export interface ProblemOptions {
  M: number;
  K: number;
  N: number;
  /** fraction of large outliers in the synthetic weights */
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

/**
 * Quantizes random LLM-like weights with the MicroScopiQ quantizer configured
 * exactly as the hardware (or plain MX-INT for --no-outliers) and MX-INT-a
 * activations, and lays out the three streams in the order of
 * docs/ARCHITECTURE.md with the contract's results. Deterministic per seed.
 */
export function makeAccelVectors(c: AccelConfig, p: ProblemOptions): AccelVectors {
  checkIntRange('--m', p.M, 1, 65535);
  checkIntRange('--k', p.K, 1, 65535);
  checkIntRange('--n', p.N, 1, 65535);
  if (!(p.outlierRate >= 0 && p.outlierRate <= 0.5)) throw new InputError(`--outlier-rate ${p.outlierRate} is out of range: allowed numbers 0..0.5`);
  const W = llmLikeWeights(p.N, p.K, p.seed, { outlierRate: p.outlierRate });
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
