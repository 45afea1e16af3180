import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../common/errors.ts';
import { readLlama2c, linearLayerNames, LINEAR_WEIGHT_KINDS, type Llama2cModel } from '../quant/models/llama2c.ts';
import { LlamaRunner, LlamaWeights, seededRng, logSoftmax } from '../quant/models/llama-forward.ts';
import { loadTensor } from '../quant/tensor-input.ts';

// The shared model folder sits next to the repository: <repo>/../shared/models.
const MODELS = fileURLToPath(new URL('../../shared/models/', import.meta.url));
const MODEL = join(MODELS, 'stories260K.bin');
const haveModel = existsSync(MODEL);

interface Reference {
  greedy_tokens: number[];
  logits_bos_position: number[];
  nll_of_greedy_tokens_1_to_63: number;
}

const dir = mkdtempSync(join(tmpdir(), 'llama2c-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeTemp(name: string, ...parts: Uint8Array[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

function int32s(...values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

function floatBytes(tensors: Float32Array[]): Uint8Array {
  return Buffer.concat(tensors.map((t) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength)));
}

/** export.py's version-1 layout: 256-byte header, then norms first and the matrices kind by kind. */
function v1File(name: string, m: Llama2cModel, shared: boolean, output?: Float32Array, version = 1): string {
  const c = m.config;
  const header = new Uint8Array(256);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x616b3432, true);
  view.setInt32(4, version, true);
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen].forEach((v, i) => view.setInt32(8 + 4 * i, v, true));
  view.setUint8(36, shared ? 1 : 0);
  const perLayer = (kind: string) => Array.from({ length: c.nLayers }, (_, l) => m.tensor(`layers.${l}.${kind}`).data);
  const order = [
    ...perLayer('attention_norm'),
    ...perLayer('ffn_norm'),
    m.tensor('norm').data,
    m.tensor('tok_embeddings').data,
    ...LINEAR_WEIGHT_KINDS.flatMap(perLayer),
    ...(output ? [output] : []),
  ];
  return writeTemp(name, header, floatBytes(order));
}

describe.skipIf(!haveModel)(`llama2c checkpoint reader${haveModel ? '' : ` (skipped: ${MODEL} not found)`}`, () => {
  it('parses the legacy header of stories260K.bin (values from the README)', () => {
    const m = readLlama2c(MODEL);
    expect(m.format).toBe('legacy');
    expect(m.config).toEqual({
      dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512,
      sharedClassifier: true, headSize: 8, kvDim: 32,
    });
    const names = m.tensorNames();
    expect(names.length).toBe(1 + 5 * 9 + 1); // no 'output': the classifier is shared
    expect(names.slice(0, 3)).toEqual(['tok_embeddings', 'layers.0.attention_norm', 'layers.0.wq']);
    expect(names.at(-1)).toBe('norm');
    const shapes = Object.fromEntries(['tok_embeddings', 'layers.4.wk', 'layers.0.w1', 'layers.2.w2', 'layers.3.ffn_norm'].map((n) => [n, m.tensor(n).shape]));
    expect(shapes).toEqual({
      tok_embeddings: [512, 64], 'layers.4.wk': [32, 64], 'layers.0.w1': [172, 64], 'layers.2.w2': [64, 172], 'layers.3.ffn_norm': [64],
    });
    expect(m.tensor('layers.1.wv').dtype).toBe('F32');
    // The first float after the 28-byte header is tok_embeddings[0][0].
    expect(m.tensor('tok_embeddings').data[0]).toBe(readFileSync(MODEL).readFloatLE(28));
    expect(linearLayerNames(2)).toEqual(['layers.0.wq', 'layers.0.wk', 'layers.0.wv', 'layers.0.wo', 'layers.0.w1', 'layers.0.w2', 'layers.0.w3',
      'layers.1.wq', 'layers.1.wk', 'layers.1.wv', 'layers.1.wo', 'layers.1.w1', 'layers.1.w2', 'layers.1.w3']);
  });

  it('an unknown tensor name is an InputError listing the first names', () => {
    const m = readLlama2c(MODEL);
    expect(() => m.tensor('output')).toThrow(InputError);
    expect(() => m.tensor('layers.5.wq')).toThrow(/has no tensor 'layers.5.wq': tensors are tok_embeddings, layers.0.attention_norm, layers.0.wq, .*, \.\.\. \(47 in all\)$/);
  });

  it('refuses truncated, padded and inconsistent files with messages naming the sizes and values', () => {
    const bytes = readFileSync(MODEL);
    expect(() => readLlama2c(writeTemp('short.bin', bytes.subarray(0, bytes.length - 4)))).toThrow(
      /is too short: 1056536 bytes, but its header \(dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512, seq_len=512, shared classifier\) needs exactly 1056540/,
    );
    expect(() => readLlama2c(writeTemp('long.bin', bytes, new Uint8Array(4)))).toThrow(/is too long: 1056544 bytes, .* needs exactly 1056540/);
    expect(() => readLlama2c(writeTemp('header.bin', bytes.subarray(0, 20)))).toThrow(/too short for a llama2.c checkpoint: 20 bytes, its legacy header needs 28/);
    expect(() => readLlama2c(join(dir, 'missing.bin'))).toThrow(InputError);
    const header = (values: number[]) => writeTemp('bad.bin', int32s(...values), bytes.subarray(28));
    expect(() => readLlama2c(header([0, 172, 5, 8, 4, 512, 512]))).toThrow(/header field dim 0 is out of range: allowed are positive integers/);
    expect(() => readLlama2c(header([64, 172, 5, 8, 4, 512, -1]))).toThrow(/seq_len -1 is out of range/);
    expect(() => readLlama2c(header([64, 172, 5, 7, 7, 512, 512]))).toThrow(/n_heads 7 does not divide dim 64/);
    expect(() => readLlama2c(header([64, 172, 5, 8, 3, 512, 512]))).toThrow(/n_kv_heads 3 does not divide n_heads 8/);
    expect(() => readLlama2c(header([48, 172, 5, 16, 4, 512, 512]))).toThrow(/head size dim\/n_heads = 3 is odd/);
  });

  it('reads a separate classifier: negative vocab_size (legacy) and shared_classifier = 0 (version 1)', () => {
    const bytes = readFileSync(MODEL);
    const output = Float32Array.from({ length: 512 * 64 }, (_, i) => (i % 7) - 3);
    const legacy = readLlama2c(writeTemp('separate.bin', int32s(64, 172, 5, 8, 4, -512, 512), bytes.subarray(28), floatBytes([output])));
    expect(legacy.config.sharedClassifier).toBe(false);
    expect(legacy.config.vocabSize).toBe(512);
    expect(legacy.tensor('output').shape).toEqual([512, 64]);
    expect(Buffer.compare(floatBytes([legacy.tensor('output').data]), floatBytes([output]))).toBe(0);
    expect(legacy.tensorNames().at(-1)).toBe('output');
    const v1 = readLlama2c(v1File('separate-v1.bin', readLlama2c(MODEL), false, output));
    expect(Buffer.compare(floatBytes([v1.tensor('output').data]), floatBytes([output]))).toBe(0);
  });

  it('a version-1 file built from the real tensors reads back identical tensors; version 2 (int8) is refused', () => {
    const m = readLlama2c(MODEL);
    const v1 = readLlama2c(v1File('v1.bin', m, true));
    expect(v1.format).toBe('v1');
    expect(v1.config).toEqual(m.config);
    expect(v1.tensorNames()).toEqual(m.tensorNames());
    for (const name of m.tensorNames()) {
      const a = m.tensor(name);
      const b = v1.tensor(name);
      expect(b.shape, name).toEqual(a.shape);
      expect(Buffer.compare(floatBytes([b.data]), floatBytes([a.data])), name).toBe(0); // bit for bit
    }
    expect(() => readLlama2c(v1File('v2.bin', m, true, undefined, 2))).toThrow(/version 2 checkpoint \(int8 Q8_0\): only float32 versions are supported/);
    expect(() => readLlama2c(v1File('v3.bin', m, true, undefined, 3))).toThrow(/version 3 is not supported: allowed versions are 1/);
    const flag = readFileSync(join(dir, 'v1.bin'));
    flag[36] = 2;
    expect(() => readLlama2c(writeTemp('flag.bin', flag))).toThrow(/shared_classifier byte 2 is not allowed: allowed values are 0, 1/);
    expect(() => readLlama2c(writeTemp('v1-short.bin', flag.subarray(0, 100)))).toThrow(/100 bytes, its versioned header needs 256/);
  });
});

describe.skipIf(!haveModel)(`llama forward pass against run.c${haveModel ? '' : ` (skipped: ${MODEL} not found)`}`, () => {
  const ref = haveModel ? (JSON.parse(readFileSync(join(MODELS, 'stories260K-reference.json'), 'utf8')) as Reference) : undefined;
  const weights = haveModel ? LlamaWeights.fromModel(readLlama2c(MODEL)) : undefined;

  it('reproduces the logits after BOS within 1e-4', () => {
    const logits = new LlamaRunner(weights!).forward(1, 0);
    expect(logits.length).toBe(512);
    const maxDiff = Math.max(...Array.from(logits, (v, i) => Math.abs(v - ref!.logits_bos_position[i])));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('reproduces all 128 greedy tokens exactly', () => {
    expect(new LlamaRunner(weights!).greedy(128)).toEqual(ref!.greedy_tokens);
  });

  it('reproduces the mean NLL of the first 63 greedy tokens within 1e-4', () => {
    // The README: the first 63 greedy tokens, each given BOS and the tokens before
    // it, i.e. the sequence BOS, g[0..62] (greedy_tokens[1..63] would give 0.8689).
    const { logProbs, meanNll } = new LlamaRunner(weights!).sequenceNll([1, ...ref!.greedy_tokens.slice(0, 63)]);
    expect(logProbs.length).toBe(63);
    expect(Math.abs(meanNll - ref!.nll_of_greedy_tokens_1_to_63)).toBeLessThan(1e-4);
    // Each greedy token is the argmax, so its log-probability is the largest one.
    const first = logSoftmax(new LlamaRunner(weights!).forward(1, 0));
    expect(logProbs[0]).toBe(Math.max(...first));
  });

  it('sampling is deterministic for a seed, differs across seeds, and is greedy at temperature 0', () => {
    const runner = new LlamaRunner(weights!);
    const a = runner.sample(64, seededRng(42));
    expect(runner.sample(64, seededRng(42))).toEqual(a);
    expect(runner.sample(64, seededRng(43))).not.toEqual(a);
    expect(a.every((t) => Number.isInteger(t) && t >= 0 && t < 512)).toBe(true);
    expect(runner.sample(32, seededRng(1), 0)).toEqual(ref!.greedy_tokens.slice(0, 32));
    expect(() => runner.sample(4, seededRng(1), -1)).toThrow(/temperature -1 is out of range/);
    const rng = seededRng(0);
    const draws = Array.from({ length: 1000 }, rng);
    expect(draws.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(new Set(draws).size).toBeGreaterThan(990);
  });

  it('exposes every linear layer: the input hook sees each matmul input, withLinear swaps one layer', () => {
    const seen: string[] = [];
    const lengths = new Map<string, number>();
    const runner = new LlamaRunner(weights!, {
      onLinearInput: (name, x) => {
        seen.push(name);
        lengths.set(name.split('.')[2], x.length);
      },
    });
    runner.forward(1, 0);
    // Once per linear layer and token, in the order the pass runs them (w3 before w2).
    expect([...seen].sort()).toEqual(linearLayerNames(5).sort());
    expect(seen.slice(0, 7)).toEqual(['wq', 'wk', 'wv', 'wo', 'w1', 'w3', 'w2'].map((k) => `layers.0.${k}`));
    expect(Object.fromEntries(lengths)).toEqual({ wq: 64, wk: 64, wv: 64, wo: 64, w1: 64, w3: 64, w2: 172 });

    const base = Float32Array.from(new LlamaRunner(weights!).forward(1, 0));
    const same = weights!.withLinear('layers.2.w2', weights!.linear('layers.2.w2').slice());
    expect(new LlamaRunner(same).forward(1, 0)).toEqual(base);
    const zeroed = weights!.withLinear('layers.2.w2', new Float32Array(64 * 172));
    expect(new LlamaRunner(zeroed).forward(1, 0)).not.toEqual(base);
    expect(new LlamaRunner(weights!).forward(1, 0)).toEqual(base); // the original is untouched
    expect(weights!.linearShape('layers.0.wk')).toEqual([32, 64]);
    expect(() => weights!.withLinear('layers.0.wq', new Float32Array(10))).toThrow(/layers.0.wq have 10 values: expected 64x64 = 4096/);
    expect(() => weights!.linear('layers.5.wq')).toThrow(/'layers.5.wq' is not a linear layer of this model: allowed are layers.L.\{wq,wk,wv,wo,w1,w2,w3\} with L in 0..4/);
    expect(() => runner.forward(512, 0)).toThrow(/token 512 is out of range: allowed token ids 0..511/);
    expect(() => runner.forward(1, 512)).toThrow(/position 512 is out of range/);
  });
});

describe.skipIf(!haveModel)(`--input model.bin:TENSOR_NAME${haveModel ? '' : ` (skipped: ${MODEL} not found)`}`, () => {
  it('loads one llama2.c weight as a copy of the file bytes; a bare .bin or a wrong name lists the tensors', () => {
    // layers.0.w1 starts after the embedding, 5 attention norms and 5 layers of wq, wk, wv, wo and the 5 FFN norms
    const [dim, hidden, layers, vocab, kv] = [64, 172, 5, 512, 32];
    const offset = 28 + 4 * (vocab * dim + layers * dim + layers * (dim * dim + 2 * kv * dim + dim * dim) + layers * dim);
    const t = loadTensor(`${MODEL}:layers.0.w1`);
    expect(t.shape).toEqual([hidden, dim]);
    const bytes = readFileSync(MODEL);
    for (const i of [0, 1, 1000, hidden * dim - 1]) expect(t.data[i]).toBe(bytes.readFloatLE(offset + 4 * i));
    t.data[0] = 42; // a copy: the next load is unchanged
    expect(loadTensor(`${MODEL}:layers.0.w1`).data[0]).toBe(bytes.readFloatLE(offset));
    expect(() => loadTensor(MODEL)).toThrow(/llama2.c checkpoint holds several tensors; name one as .*:TENSOR_NAME \(tensors: tok_embeddings, layers\.0\.attention_norm/);
    expect(() => loadTensor(`${MODEL}:layers.9.w1`)).toThrow(/no tensor 'layers\.9\.w1'.*\(47 in all\)/);
    expect(() => loadTensor(`${MODEL}:`)).toThrow(/give the tensor name after the colon \(model\.bin:TENSOR_NAME\)/);
  });
});
