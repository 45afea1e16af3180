import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMsq, tmpDir } from './helpers.ts';
import { DEFAULT_ACCEL, accelQuantizerOptions, resolveAccelConfig, type AccelOptions } from '../generator/accel-config.ts';
import { defaultProblem, makeAccelVectors, outlierRateLimit } from '../testbench/accel-vectors.ts';
import { decodeTileModel, weightStreamTiles } from '../quant/hwmodel/weight-stream.ts';
import { decodePacked, encodePacked } from '../quant/microscopiq/packed.ts';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { SLOT_OUTLIER } from '../quant/microscopiq/layer.ts';
import { llmLikeWeights, plantedCount, plantedOutlierWeights, plantedPerGroup } from '../quant/microscopiq/synthetic.ts';

/**
 * `--outlier-rate P` (msq vectors, msq sim) gives P·N·K stored outliers: the
 * quantizer's own rule flags exactly the planted weights, it stores each of
 * them with a pruned partner, and the accelerator's weight stream carries
 * them as merged pairs. Rates above the limit of the rule (Cantelli's
 * inequality per group of G) are refused.
 */
const CONFIGS: { label: string; o: AccelOptions; limit: number }[] = [
  { label: '8x8 W4 crossbar (the default)', o: { ...DEFAULT_ACCEL }, limit: 3 / 32 },
  { label: '4x8 W2 butterfly, G = 32', o: { ...DEFAULT_ACCEL, rows: 4, cols: 8, wbits: 2, recon: 'butterfly', group: 32 }, limit: 3 / 32 },
  { label: '4x8 W2 butterfly, G = 16', o: { ...DEFAULT_ACCEL, rows: 4, cols: 8, wbits: 2, recon: 'butterfly', group: 16 }, limit: 1 / 16 },
  { label: '8x16 W4 butterfly, B = 4, G = 64', o: { ...DEFAULT_ACCEL, rows: 8, cols: 16, ublock: 4, recon: 'butterfly', group: 64 }, limit: 6 / 64 },
];

/** Outlier lanes of the accelerator's weight stream, decoded tile by tile as the hardware reads it. */
function streamOutliers(v: ReturnType<typeof makeAccelVectors>, o: AccelOptions, M: number): number {
  const c = resolveAccelConfig(o);
  const tiles = weightStreamTiles(v.layer, { rows: c.rows, cols: c.cols, mChunks: Math.ceil(M / c.depth) });
  let at = 0;
  let count = 0;
  for (const t of tiles) {
    const words = v.weightWords.subarray(at, at + t.words.length);
    at += t.words.length;
    const d = decodeTileModel(words, { msq: c.msq, rows: c.rows, cols: c.cols, withScales: t.withScales });
    for (const row of d.rows) count += row.settings.filter((s) => s.mode === 'outlier').length;
  }
  expect(at).toBe(v.weightWords.length);
  return count;
}

describe('--outlier-rate: the stated fraction of stored outliers', () => {
  for (const { label, o, limit } of CONFIGS) {
    it(`${label}: rates 0 .. the limit ${limit}`, () => {
      const c = resolveAccelConfig(o);
      const d = defaultProblem(c);
      expect(outlierRateLimit(c, d.N, d.K).limit).toBeCloseTo(limit, 12);
      const weights = d.N * d.K;
      for (const rate of [0, 0.01, 0.02, 0.05, limit]) {
        const v = makeAccelVectors(c, { ...d, outlierRate: rate, seed: 3 });
        const stored = v.layer.stats.outliers;
        if (rate === 0) expect(stored).toBe(0);
        else {
          expect(Math.abs(stored / weights - rate) / rate, `rate ${rate}: ${stored} of ${weights}`).toBeLessThanOrEqual(0.2);
          expect(stored).toBe(plantedCount(d.N, d.K, rate)); // exactly the planted ones
        }
        // nothing flagged is lost: every candidate is stored, none clamped by the shift window
        expect(v.layer.stats.candidates).toBe(stored);
        expect(v.layer.stats.windowClamped).toBe(0);
        // the packed file and the hardware stream carry the same pairs
        const packed = decodePacked(encodePacked(v.layer));
        expect(packed.pairStart[packed.ublocks]).toBe(stored);
        expect(streamOutliers(v, o, d.M)).toBe(stored * Math.ceil(d.M / c.depth));
      }
    });
  }

  it('rates grow the stored outliers monotonically (more than one seed, partial groups and μBs)', () => {
    const c = resolveAccelConfig({ ...DEFAULT_ACCEL, rows: 4, cols: 8, wbits: 4, recon: 'butterfly', group: 32 });
    const N = 21; // a partial μB
    const K = 75; // a partial last group of 11 inputs: 1 outlier at most
    const { limit } = outlierRateLimit(c, N, K);
    expect(limit).toBeCloseTo((N * (3 + 3 + 1)) / (N * K), 12);
    for (const seed of [1, 2]) {
      let last = -1;
      for (const rate of [0, 0.005, 0.01, 0.03, 0.06, limit]) {
        const v = makeAccelVectors(c, { M: 4, K, N, outlierRate: rate, seed });
        expect(v.layer.stats.outliers).toBe(plantedCount(N, K, rate));
        expect(v.layer.stats.outliers).toBeGreaterThan(last);
        last = v.layer.stats.outliers;
      }
    }
  });

  it('the planted positions are exactly the slots the quantizer keeps as outliers', () => {
    for (const recon of ['crossbar', 'butterfly'] as const) {
      for (const wbits of [2, 4]) {
        const o: AccelOptions = { ...DEFAULT_ACCEL, recon, wbits };
        const N = 40;
        const K = 96;
        const { W, positions } = plantedOutlierWeights(N, K, 7, { rate: 0.08, groupSize: 32, stdDev: 3, ublockSize: 8, recon });
        expect(positions.length).toBe(plantedCount(N, K, 0.08));
        const L = quantizeMicroScopiQ(W, N, K, accelQuantizerOptions(o));
        const kept: number[] = [];
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) if (L.kind[n * L.Kp + k] === SLOT_OUTLIER) kept.push(n * K + k);
        expect(kept).toEqual([...positions]);
      }
    }
  });

  it('the per-group capacity is Cantelli\'s bound with a 5 % margin', () => {
    // fewer than G/(1 + k²) values can lie more than k std above the mean
    expect([8, 10, 11, 16, 20, 21, 32, 64, 100].map((G) => plantedPerGroup(G, 3))).toEqual([0, 0, 1, 1, 1, 1, 3, 6, 9]);
    for (const G of [11, 16, 32, 64, 100, 1000]) expect(plantedPerGroup(G, 3)).toBeLessThan(G / 10);
  });

  it('llmLikeWeights (the generator of the quality studies) could not serve: its heavy-tailed body alone has outliers', () => {
    const L = quantizeMicroScopiQ(llmLikeWeights(24, 64, 1, { outlierRate: 0 }), 24, 64, accelQuantizerOptions(DEFAULT_ACCEL));
    expect(L.stats.outliers).toBeGreaterThan(0);
  });
});

describe('--outlier-rate above the limit is refused', () => {
  const cases: { args: string[]; msg: RegExp }[] = [
    { args: ['vectors', '--outlier-rate', '0.1'], msg: /--outlier-rate 0\.1 is above the limit 0\.09375 of this configuration: the quantizer flags \|w\| > mean \+ 3·std over each group of G = 32 inputs, and by Cantelli's inequality fewer than G\/\(1 \+ 3²\) = 3\.2 weights/ },
    { args: ['vectors', '--rows', '4', '--cols', '8', '--wbits', '2', '--recon', 'butterfly', '--group', '16', '--outlier-rate', '0.07'], msg: /--outlier-rate 0\.07 is above the limit 0\.0625 .*G = 16.*power-of-two lane distance.*allowed numbers 0\.\.0\.0625$/m },
    { args: ['vectors', '--rows', '8', '--group', '8', '--outlier-rate', '0.01'], msg: /--outlier-rate 0\.01 is above the limit 0 of this configuration: .*G = 8/ },
    { args: ['vectors', '--outlier-rate', '-0.01'], msg: /--outlier-rate -0\.01 is out of range: allowed numbers 0\.\.0\.09375/ },
    { args: ['vectors', '--outlier-rate', 'lots'], msg: /--outlier-rate "lots" is not a number/ },
  ];
  for (const { args, msg } of cases) {
    it(`msq ${args.join(' ')}`, () => {
      const out = join(tmpDir(), 'vec');
      const r = runMsq([...args, '--out', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^msq: error: /);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('msq sim refuses it too, before simulating', () => {
    const r = runMsq(['sim', '--rows', '4', '--cols', '8', '--wbits', '2', '--group', '16', '--simulator', 'icarus', '--outlier-rate', '0.2', '--work', tmpDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^msq: error: --outlier-rate 0\.2 is above the limit 0\.0625 /);
    expect(r.stdout).not.toMatch(/passed/);
  });

  it('without --outlier-rate the default 0.01 is lowered to the limit: a group of 8 runs with none', () => {
    const small = join(tmpDir(), 'vec');
    const r = runMsq(['vectors', '--rows', '8', '--group', '8', '--out', small]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/, 0 outliers\)/);
    expect(JSON.parse(readFileSync(join(small, 'manifest.json'), 'utf8')).problem.outlierRate).toBe(0);
    const dflt = join(tmpDir(), 'vec');
    const d = runMsq(['vectors', '--out', dflt]);
    expect(d.status, d.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dflt, 'manifest.json'), 'utf8')).problem.outlierRate).toBe(0.01);
  });

  it('the help text states the limit', () => {
    const r = runMsq(['vectors', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/at most floor\(0\.95·G\/10\)\/G, as Cantelli's inequality/);
  });
});

describe('msq sim at the limit stresses the outlier path', () => {
  it('default 8x8 W4 crossbar, M = 2 (weight-stream bound): more weight words and cycles than at rate 0, every word passes', () => {
    const runAt = (rate: string) => {
      const work = tmpDir();
      const r = runMsq(['sim', '--m', '2', '--simulator', 'icarus', '--stall', '0', '--runs', '1', '--outlier-rate', rate, '--work', work]);
      const m = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8'));
      const pass = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
      expect(pass, r.stdout.slice(-2000)).not.toBeNull();
      expect(Number(pass![1])).toBe(m.counts.resultWords);
      expect(Number(pass![2])).toBe(0);
      expect(r.stdout).not.toMatch(/MISMATCH/);
      expect(r.status).toBe(0);
      return { cycles: Number(/^run 0: (\d+) cycles/m.exec(r.stdout)![1]), outliers: m.quantizer.outliers as number, words: m.counts.weightWords as number };
    };
    const none = runAt('0');
    const full = runAt('0.09375');
    expect(none.outliers).toBe(0);
    expect(full.outliers).toBe(0.09375 * 24 * 64); // 144: 3 in every group of 32
    expect(full.words).toBeGreaterThan(none.words);
    expect(full.cycles).toBeGreaterThan(none.cycles);
  });
});
