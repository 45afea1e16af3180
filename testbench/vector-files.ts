import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import { InputError } from '../common/errors.ts';
import type { AccelConfig, AccelOptions } from '../generator/accel-config.ts';
import { hexLines, makeAccelVectors, type ProblemOptions } from './accel-vectors.ts';

export interface VectorManifest {
  generator: string;
  version: string;
  /** the generator options the vectors were made for */
  config: AccelOptions;
  problem: ProblemOptions & { Kpadded: number };
  files: { weights: string; activations: string };
  /** expected-result files, in stream order */
  expected: string[];
  counts: { weightWords: number; activationBeats: number; resultBeats: number; resultWords: number };
  widths: { weightWord: number; activationBeat: number; resultBeat: number };
  quantizer: { outliers: number; ublocksWithOutliers: number; windowClamped: number; clipped: number };
}

/** Writes the vectors of one problem into `dir` (readmemh text + manifest.json). */
export function writeVectorFiles(dir: string, c: AccelConfig, p: ProblemOptions): VectorManifest {
  const v = makeAccelVectors(c, p);
  const actWidth = c.rows * c.abits + 8;
  writeFileSync(join(dir, 'w.hex'), hexLines(v.weightWords, 32));
  writeFileSync(join(dir, 'a.hex'), hexLines(v.activationBeats, actWidth));
  writeFileSync(join(dir, 'y.hex'), hexLines(v.resultBeats, c.cols * 32));
  const s = v.layer.stats;
  const manifest: VectorManifest = {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    config: pickOptions(c),
    problem: { ...p, Kpadded: v.dims.K },
    files: { weights: 'w.hex', activations: 'a.hex' },
    expected: ['y.hex'],
    counts: { weightWords: v.weightWords.length, activationBeats: v.activationBeats.length, resultBeats: v.resultBeats.length, resultWords: v.resultBeats.length * c.cols },
    widths: { weightWord: 32, activationBeat: actWidth, resultBeat: c.cols * 32 },
    quantizer: { outliers: s.outliers, ublocksWithOutliers: s.ublocksWithOutliers, windowClamped: s.windowClamped, clipped: s.clippedNoLegalPartner + s.clippedPartnersTaken + s.clippedNotWorthIt },
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

export function pickOptions(c: AccelOptions): AccelOptions {
  const { rows, cols, wbits, abits, ublock, group, recon, outliers, depth } = c;
  return { rows, cols, wbits, abits, ublock, group, recon, outliers, depth };
}

/** Reads a vector folder's manifest and checks it was made for this configuration. */
export function readVectorManifest(dir: string, c: AccelOptions): VectorManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new InputError(`--vectors ${dir} has no manifest.json (make one with msq vectors)`);
  const m = JSON.parse(readFileSync(path, 'utf8')) as VectorManifest;
  const want = JSON.stringify(pickOptions(c));
  const got = JSON.stringify(pickOptions(m.config));
  if (want !== got) throw new InputError(`--vectors ${dir} was made for ${got}, not for ${want}`);
  return m;
}
