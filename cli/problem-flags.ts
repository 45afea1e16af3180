import type { Command } from 'commander';
import type { AccelConfig } from '../generator/accel-config.ts';
import { checkProblem, defaultProblem, outlierRateLimit, type ProblemOptions } from '../testbench/accel-vectors.ts';
import { parseIntFlag } from './parse.ts';
import { InputError } from '../common/errors.ts';

/** --outlier-rate when it is not given (lowered to the configuration's limit). */
export const DEFAULT_OUTLIER_RATE = 0.01;

/** Problem flags of `vectors` and `sim`; defaults depend on the array (a GEMM larger than it in K and N). */
export function addProblemFlags(cmd: Command): Command {
  return cmd
    .option('--m <M>', 'activation rows (default 24)')
    .option('--k <K>', 'inputs (default max(2·group, 4·rows); padded to a multiple of the group)')
    .option('--n <N>', 'outputs (default 2·cols + ublock: several N-tiles, the last one partial)')
    .option(
      '--outlier-rate <P>',
      'fraction of the N·K weights stored as outliers (planted so that the quantizer\'s rule |w| > mean + 3·std per group of G flags exactly them; ' +
        'each needs a partner slot, at most B/2 per μB); at most floor(0.95·G/10)/G, as Cantelli\'s inequality lets fewer than G/10 weights of a group ' +
        'lie 3 std above its mean: 9.375 % at G = 32 or 64, 6.25 % at G = 16, 0 below G = 11 (docs/ARCHITECTURE.md); ' +
        `default ${DEFAULT_OUTLIER_RATE}, or the configuration's limit when that is lower (0 below G = 11)`,
    )
    .option('--seed <S>', 'random seed of weights, activations and stalls', '1');
}

export interface ProblemFlagValues {
  m?: string;
  k?: string;
  n?: string;
  outlierRate?: string;
  seed: string;
}

export function problemFrom(v: ProblemFlagValues, c: AccelConfig): ProblemOptions {
  const d = defaultProblem(c);
  const rate = v.outlierRate === undefined ? undefined : Number(v.outlierRate);
  if (rate !== undefined && !Number.isFinite(rate)) throw new InputError(`--outlier-rate ${JSON.stringify(v.outlierRate)} is not a number`);
  const M = v.m === undefined ? d.M : parseIntFlag('--m', v.m);
  const K = v.k === undefined ? d.K : parseIntFlag('--k', v.k);
  const N = v.n === undefined ? d.N : parseIntFlag('--n', v.n);
  // without --outlier-rate, the default, lowered to what the configuration can hold (a group
  // below 11 inputs holds none), so that a small --group runs without a flag to find
  // (checkProblem below refuses bad sizes before it looks at the rate)
  const outlierRate = rate ?? Math.min(DEFAULT_OUTLIER_RATE, outlierRateLimit(c, N, K).limit);
  const p: ProblemOptions = { M, K, N, outlierRate, seed: parseIntFlag('--seed', v.seed) };
  checkProblem(c, p); // before anything is written
  return p;
}
