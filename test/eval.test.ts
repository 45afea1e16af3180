import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMsqAsync, tmpDir } from './helpers.ts';
import { readLlama2c } from '../quant/models/llama2c.ts';
import { LlamaRunner, LlamaWeights, seededRng } from '../quant/models/llama-forward.ts';
import { calibrationSeed, captureCalibration, quantizeLinearLayer, sampleSequences, type EvalRow } from '../quant/models/eval.ts';
import { parseFormatSpec } from '../quant/schemes.ts';

// The shared model folder sits next to the repository: <repo>/../shared/models.
const MODELS = fileURLToPath(new URL('../../shared/models/', import.meta.url));
const MODEL = join(MODELS, 'stories260K.bin');
const haveModel = existsSync(MODEL);

interface EvalJson {
  model: { path: string; seqLen: number };
  config: { seqs: number; len: number; seed: number; scoredPositions: number; calibrationRows: number; quantizedParameters: number; float32Tensors: string[] };
  greedy_tokens_fp32: number[];
  rows: EvalRow[];
  skipped: unknown[];
}

// Small enough to stay fast, large enough that 8-bit and 2-bit weights differ clearly.
const SEQS = 3;
const LEN = 48;
const SEED = 5;
const FORMATS = 'mxint8,mxint2,microscopiq+w2,microscopiq+w2+cal';
const dir = tmpDir('msq-eval-');
const args = (json: string) => ['eval', '--model', MODEL, '--formats', FORMATS, '--seqs', `${SEQS}`, '--len', `${LEN}`, '--seed', `${SEED}`, '--calibration-seqs', '2', '--json', json];

describe.skipIf(!haveModel)(`msq eval on stories260K${haveModel ? '' : ` (skipped: ${MODEL} not found)`}`, () => {
  // Two identical runs at once (determinism); every check below reads their output.
  const runs = haveModel ? Promise.all([runMsqAsync(args(join(dir, 'a.json'))), runMsqAsync(args(join(dir, 'b.json')))]) : undefined;
  const docs = runs?.then((rs) => {
    for (const r of rs) expect(r.status, r.stderr).toBe(0);
    return ['a.json', 'b.json'].map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as EvalJson);
  });
  const weights = haveModel ? LlamaWeights.fromModel(readLlama2c(MODEL)) : undefined;

  it('prints the table on stdout and progress on stderr; the float32 greedy tokens are run.c\'s', async () => {
    const [r] = await runs!;
    expect(r.stdout).toMatch(/\| format \| EBW \(bits\) \| perplexity \| Δppl \| KL \(nats\) \| top-1 \|/);
    expect(r.stdout).toMatch(/^\| float32 \| 32\.0000 \| [\d.]+ \| — \| 0 \| 100\.00 % \|$/m);
    expect(r.stdout).toMatch(/RMSNorm weights stay float32/);
    expect(r.stderr).toMatch(/msq eval: \[[\d.]+ s\] format 4\/4 microscopiq\+w2\+cal: quantized 35 linear layers/);
    const [doc] = await docs!;
    const ref = JSON.parse(readFileSync(join(MODELS, 'stories260K-reference.json'), 'utf8')) as { greedy_tokens: number[] };
    expect(doc.greedy_tokens_fp32).toEqual(ref.greedy_tokens);
    expect(doc.greedy_tokens_fp32.length).toBe(128);
    expect(doc.config).toMatchObject({ seqs: SEQS, len: LEN, seed: SEED, scoredPositions: SEQS * (LEN - 1), calibrationRows: 2 * (LEN - 1), quantizedParameters: 226560 });
    expect(doc.config.float32Tensors).toContain('tok_embeddings');
    expect(doc.config.float32Tensors).not.toContain('layers.0.wq');
    expect(doc.rows.map((row) => row.format)).toEqual(['float32', ...FORMATS.split(',')]);
  });

  it('the float32 perplexity is exp of the mean NLL of its own samples (seededRng(seed), BOS first), recomputed with sequenceNll', async () => {
    const [doc] = await docs!;
    const runner = new LlamaRunner(weights!);
    const rng = seededRng(SEED);
    let total = 0;
    for (let s = 0; s < SEQS; s++) {
      const tokens = [1, ...runner.sample(LEN - 1, rng)];
      total -= runner.sequenceNll(tokens).logProbs.reduce((a, b) => a + b, 0);
    }
    const fp = doc.rows[0]!;
    expect(fp).toMatchObject({ format: 'float32', ebw: 32, kl: 0, top1: 1, deltaPplPercent: 0 });
    expect(Math.abs(fp.ppl / Math.exp(total / (SEQS * (LEN - 1))) - 1)).toBeLessThan(1e-12);
    expect(fp.ppl).toBe(Math.exp(fp.nll));
  });

  it('8-bit weights stay close to float32 and 2-bit weights do not; calibration helps MicroScopiQ W2', async () => {
    const [doc] = await docs!;
    const row = (f: string) => doc.rows.find((r) => r.format === f)!;
    const int8 = row('mxint8');
    const int2 = row('mxint2');
    expect(int8.ebw).toBe(8.25);
    // This 260K-parameter model is sensitive: MXINT8 (about 40 dB SQNR per layer)
    // costs it about 0.05 nats of KL and flips the argmax at ~15 % of the positions
    // of sampled text, as Gaussian weight noise of the same SQNR does. So the bounds
    // are loose ones on absolute values and tight ones on the ordering.
    expect(int8.kl).toBeGreaterThan(0);
    expect(int8.kl).toBeLessThan(0.15);
    expect(int8.top1).toBeGreaterThan(0.7);
    expect(int8.top1).toBeLessThan(1);
    expect(int2.kl).toBeGreaterThan(20 * int8.kl);
    expect(int2.top1).toBeLessThan(int8.top1);
    expect(int2.ppl).toBeGreaterThan(int8.ppl);
    for (const r of doc.rows) expect(r.ppl).toBe(Math.exp(r.nll));
    const w2 = row('microscopiq+w2');
    const w2cal = row('microscopiq+w2+cal');
    expect(w2cal.label).toBe('microscopiq-w2+cal');
    expect(w2cal.kl).toBeLessThan(w2.kl);
    expect(w2cal.note).toMatch(/w2 K 172→192/);
    expect(w2cal.layers!.length).toBe(35);
    // EBW: parameter-weighted mean of the layers' EBW.
    const params = w2cal.layers!.reduce((n, l) => n + l.shape[0] * l.shape[1], 0);
    expect(w2cal.ebw).toBeCloseTo(w2cal.layers!.reduce((b, l) => b + l.ebw * l.shape[0] * l.shape[1], 0) / params, 12);
  });

  it('is deterministic: two runs give the same rows', async () => {
    const [a, b] = await docs!;
    expect(b.rows).toEqual(a.rows);
    expect(b.greedy_tokens_fp32).toEqual(a.greedy_tokens_fp32);
  });

  it('calibration text is another stream than the evaluation text; wq, wk and wv share one captured X', () => {
    const evalSeqs = sampleSequences(weights!, 2, 16, SEED);
    const cal = captureCalibration(weights!, 2, 16, SEED);
    const x = cal.get('layers.0.wq')!;
    expect([x.rows, x.k]).toEqual([30, 64]);
    expect(cal.get('layers.0.wk')).toBe(x);
    expect(cal.get('layers.3.w3')).toBe(cal.get('layers.3.w1'));
    expect(cal.get('layers.1.w2')!.k).toBe(172);
    // X holds the float32 inputs along the calibration sequences, sequence after sequence.
    const calSeqs = sampleSequences(weights!, 2, 16, calibrationSeed(SEED));
    expect(calSeqs).not.toEqual(evalSeqs);
    expect(calSeqs[0]![0]).toBe(1);
    const expected = [...captureLayer0WqInputs(calSeqs[0]!), ...captureLayer0WqInputs(calSeqs[1]!)];
    expect(Array.from(x.data)).toEqual(expected);
  });

  it('a format that refuses K is quantized zero-padded, the padding dropped and counted in EBW', () => {
    // MX's default block of 32 does not fit K = 16 (SchemeFamily.unsupported).
    const n = 4;
    const k = 16;
    const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i) * (1 + (i % 5)));
    const x = { data: new Float32Array(3 * k).fill(1), rows: 3, k };
    const r = quantizeLinearLayer(parseFormatSpec('mxint4'), w, n, k, x);
    if ('skipped' in r) throw new Error(r.skipped);
    expect(r.paddedK).toBe(32);
    expect(r.refusal).toMatch(/default block size 32 does not fit/);
    expect(r.ebw).toBe(4.25 * 2);
    // Same values as one 16-element block per row: zeros change no block maximum.
    const direct = parseFormatSpec('mxint4').family.quantize('mxint4', { data: w, shape: [n, k], blockSize: 16, options: {} });
    expect(Array.from(r.values)).toEqual(Array.from(direct.values));
    // A refusal no padding cures is a skip with the family's reason.
    const bad = w.slice();
    bad[5] = NaN;
    expect(quantizeLinearLayer(parseFormatSpec('microscopiq+w4'), bad, n, k, x)).toEqual({ skipped: expect.stringMatching(/needs finite weights, and W\[0\]\[5\] is NaN/) });
  });

  it('refuses bad flags with the offending value and the allowed range, writing no JSON', async () => {
    const json = join(dir, 'bad.json');
    const base = ['eval', '--model', MODEL, '--json', json];
    const [len0, len513, unknown, seqs0, float32] = await Promise.all([
      runMsqAsync([...base, '--len', '0']),
      runMsqAsync([...base, '--len', '513']),
      runMsqAsync([...base, '--formats', 'mxint8,bogus4']),
      runMsqAsync([...base, '--seqs', '0']),
      runMsqAsync([...base, '--formats', 'float32,mxint4']),
    ]);
    expect(len0.stderr).toMatch(/^msq: error: --len 0 is out of range: allowed integers 2\.\.512\n$/);
    expect(len513.stderr).toMatch(/^msq: error: --len 513 is out of range: allowed integers 2\.\.512\n$/);
    expect(unknown.stderr).toMatch(/^msq: error: unknown format 'bogus4': valid formats are mxfp8_e5m2, .*microscopiq\n$/);
    expect(seqs0.stderr).toMatch(/--seqs 0 is out of range: allowed integers 1\.\.4096/);
    expect(float32.stderr).toMatch(/--formats float32: the float32 model is always the first row/);
    for (const r of [len0, len513, unknown, seqs0, float32]) {
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(json)).toBe(false);
    const missing = await runMsqAsync(['eval', '--model', join(dir, 'missing.bin')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/msq: error: cannot read .*missing\.bin/);
  });

  /** The inputs of layers.0.wq along `tokens` at positions 0..len-2 (the positions sampling runs). */
  function captureLayer0WqInputs(tokens: number[]): number[] {
    const rows: number[] = [];
    const runner = new LlamaRunner(weights!, { onLinearInput: (name, v) => void (name === 'layers.0.wq' && rows.push(...v)) });
    for (let pos = 0; pos + 1 < tokens.length; pos++) runner.forward(tokens[pos]!, pos);
    return rows;
  }
});
