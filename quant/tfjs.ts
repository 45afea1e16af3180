/**
 * Reads one named weight tensor of a TensorFlow.js model (graph or layers
 * model: `model.json` plus binary shard files beside it), so real model
 * weights can be quantized. Only model.json and the tensor's own bytes are
 * read.
 *
 * Format (tfjs-core io: decodeWeights, the converter's write_weights):
 * model.json's `weightsManifest` is an array of groups
 * {paths: [shard, ...], weights: [{name, shape, dtype, quantization?}, ...]};
 * a group's tensors lie back to back, in manifest order, in the concatenation
 * of its shard files, with no padding or alignment. Values are little-endian.
 * A tensor with `quantization` is stored narrower than its dtype:
 * uint8/uint16 codes q with value = q * scale + min, or float16.
 */
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { readInputFile } from '../common/input-file.ts';
import { dirname, join } from 'node:path';
import { InputError } from '../common/errors.ts';
import { float16ToFloat32Array } from './half.ts';
import type { LoadedTensor } from './safetensors.ts';

export interface TfjsQuantization {
  /** How the values are stored: uint8/uint16 affine codes, or float16. */
  dtype: 'uint8' | 'uint16' | 'float16';
  /** uint8/uint16 only: value = q * scale + min. */
  scale?: number;
  min?: number;
}

export interface TfjsEntry {
  name: string;
  shape: number[];
  /** The tensor's dtype in the model: float32, int32, bool, complex64 or string. */
  dtype: string;
  /** Index of its group in weightsManifest. */
  group: number;
  /** Byte offset within the concatenation of the group's shard files. */
  offset: number;
  /** Bytes it occupies there. */
  byteLength: number;
  quantization?: TfjsQuantization;
}

export interface TfjsManifest {
  /** Per group, the paths of its shard files (resolved beside model.json), in order. */
  groups: string[][];
  /** Every tensor of every group, in manifest order. */
  entries: TfjsEntry[];
}

/** Bytes per element as stored, for the dtypes of fixed width (string is length-prefixed, see below). */
const WIDTH: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_WIDTH: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

/**
 * The shard files of one group as one byte range. Every shard is opened (and
 * so checked to exist) up front: a model with a missing shard is incomplete,
 * whichever tensor is asked for.
 */
class GroupBytes {
  private readonly fds: number[] = [];
  private readonly starts: number[] = [];
  readonly size: number;

  constructor(
    private readonly modelJson: string,
    private readonly paths: string[],
  ) {
    let size = 0;
    try {
      for (const p of paths) {
        let fd: number;
        try {
          fd = openSync(p, 'r');
        } catch (e) {
          const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message;
          throw new InputError(`${modelJson}: shard file ${p} ${why} (the weightsManifest of model.json lists it)`);
        }
        this.fds.push(fd);
        this.starts.push(size);
        size += fstatSync(fd).size;
      }
    } catch (e) {
      this.close();
      throw e;
    }
    this.size = size;
  }

  /** `length` bytes from `offset`, across shard boundaries. */
  read(offset: number, length: number, what: string): Uint8Array {
    if (offset + length > this.size) {
      throw new InputError(
        `${this.modelJson}: shard files too short for the manifest: ${what} needs bytes ${offset}..${offset + length} but the shards (${this.paths.join(', ')}) hold ${this.size}`,
      );
    }
    const out = new Uint8Array(length);
    let done = 0;
    for (let i = 0; i < this.fds.length && done < length; i++) {
      const start = this.starts[i]!;
      const end = i + 1 < this.starts.length ? this.starts[i + 1]! : this.size;
      const from = offset + done;
      if (from >= end) continue;
      const n = Math.min(end - from, length - done);
      let got = 0;
      while (got < n) {
        const r = readSync(this.fds[i]!, out, done + got, n - got, from - start + got);
        if (r === 0) throw new InputError(`${this.modelJson}: shard file ${this.paths[i]} shrank while being read`);
        got += r;
      }
      done += n;
    }
    return out;
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}

function notTfjs(path: string, why: string): InputError {
  return new InputError(`${path} is not a TFJS model.json (${why})`);
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && (d as number) >= 0);
}

/** The tensors listed in a TFJS model.json, with where each lies in its group's shards. */
export function readTfjsManifest(modelJsonPath: string): TfjsManifest {
  const text = readInputFile(modelJsonPath).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw notTfjs(modelJsonPath, 'it is not JSON');
  }
  const manifest = (doc as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(manifest)) throw notTfjs(modelJsonPath, 'no weightsManifest array');
  const dir = dirname(modelJsonPath);
  const groups: string[][] = [];
  const entries: TfjsEntry[] = [];
  manifest.forEach((g: unknown, gi: number) => {
    const { paths, weights } = (g ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(weights)) {
      throw notTfjs(modelJsonPath, `weightsManifest[${gi}] lacks its paths or weights array`);
    }
    const shardPaths = paths.map((p: string) => join(dir, p));
    groups.push(shardPaths);
    let offset = 0;
    let bytes: GroupBytes | undefined; // opened only if a string tensor needs its lengths read
    try {
      for (const [wi, w] of (weights as unknown[]).entries()) {
        const { name, shape, dtype, quantization } = (w ?? {}) as { name?: unknown; shape?: unknown; dtype?: unknown; quantization?: unknown };
        if (typeof name !== 'string' || !isShape(shape) || typeof dtype !== 'string') {
          throw notTfjs(modelJsonPath, `weightsManifest[${gi}].weights[${wi}] lacks a name, shape or dtype`);
        }
        const count = shape.reduce((a, b) => a * b, 1);
        const q = quantization === undefined ? undefined : checkQuantization(modelJsonPath, name, dtype, quantization);
        let byteLength: number;
        if (q) byteLength = count * QUANTIZED_WIDTH[q.dtype]!;
        else if (dtype === 'string') {
          // Each string is a u32 LE byte length then its bytes, so the tensor's
          // size (and every later offset in the group) comes from the data.
          bytes ??= new GroupBytes(modelJsonPath, shardPaths);
          byteLength = 0;
          for (let i = 0; i < count; i++) {
            const len = new DataView(bytes.read(offset + byteLength, 4, `string tensor '${name}'`).buffer).getUint32(0, true);
            byteLength += 4 + len;
          }
        } else {
          const width = WIDTH[dtype];
          if (width === undefined) {
            throw new InputError(`${modelJsonPath}: tensor '${name}' has dtype ${dtype}, which TFJS does not define: known dtypes are ${[...Object.keys(WIDTH), 'string'].join(', ')}`);
          }
          byteLength = count * width;
        }
        entries.push({ name, shape: [...shape], dtype, group: gi, offset, byteLength, ...(q ? { quantization: q } : {}) });
        offset += byteLength;
      }
    } finally {
      bytes?.close();
    }
  });
  return { groups, entries };
}

function checkQuantization(path: string, name: string, dtype: string, raw: unknown): TfjsQuantization {
  const q = (raw ?? {}) as { dtype?: unknown; scale?: unknown; min?: unknown };
  const qd = q.dtype;
  if (qd === 'float16') {
    if (dtype !== 'float32') throw new InputError(`${path}: tensor '${name}' is float16-quantized but has dtype ${dtype}: TFJS allows float16 only for float32 tensors`);
    return { dtype: 'float16' };
  }
  if (qd === 'uint8' || qd === 'uint16') {
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
      throw new InputError(`${path}: tensor '${name}' is ${qd}-quantized without a numeric scale and min`);
    }
    return { dtype: qd, scale: q.scale, min: q.min };
  }
  throw new InputError(`${path}: tensor '${name}' has quantization dtype ${String(qd)}, which is not supported: allowed are uint8, uint16, float16`);
}

/**
 * A one-line listing of the float tensors (first 20 with shapes, then "..."),
 * for error messages that ask the user to pick one.
 */
export function describeFloatTensors(manifest: TfjsManifest): string {
  const floats = manifest.entries.filter((e) => e.dtype === 'float32');
  const shown = floats.slice(0, 20).map((e) => `${e.name} [${e.shape.join(', ')}]`);
  const others = manifest.entries.length - floats.length;
  return (
    `${floats.length} float32 tensor${floats.length === 1 ? '' : 's'}: ${shown.join(', ')}${floats.length > 20 ? ', ...' : ''}` +
    (others > 0 ? ` (and ${others} non-float tensor${others === 1 ? '' : 's'} not listed)` : '')
  );
}

/** Reads float32 tensor `name`, dequantizing uint8/uint16/float16 storage to float32. */
export function readTfjsTensor(modelJsonPath: string, name: string): LoadedTensor {
  const manifest = readTfjsManifest(modelJsonPath);
  const entry = manifest.entries.find((e) => e.name === name);
  if (!entry) throw new InputError(`${modelJsonPath} has no tensor '${name}': the model holds ${describeFloatTensors(manifest)}`);
  if (entry.dtype !== 'float32') {
    throw new InputError(`${modelJsonPath}: tensor '${name}' has dtype ${entry.dtype}, which is not weights: only float32 tensors can be read (stored as float32, or quantized as uint8, uint16 or float16)`);
  }
  const group = manifest.entries.filter((e) => e.group === entry.group);
  const last = group[group.length - 1]!;
  const bytes = new GroupBytes(modelJsonPath, manifest.groups[entry.group]!);
  let raw: Uint8Array;
  try {
    // Check the whole group, not just this tensor: shards shorter than the
    // manifest mean a truncated download, even if this tensor's bytes are there.
    const needed = last.offset + last.byteLength;
    if (bytes.size < needed) {
      throw new InputError(
        `${modelJsonPath}: shard files too short for the manifest: group ${entry.group} (${manifest.groups[entry.group]!.join(', ')}) holds ${bytes.size} bytes, its tensors need ${needed}`,
      );
    }
    raw = bytes.read(entry.offset, entry.byteLength, `tensor '${name}'`);
  } finally {
    bytes.close();
  }
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const q = entry.quantization;
  let data: Float32Array;
  if (!q) data = new Float32Array(raw.buffer, 0, count);
  else if (q.dtype === 'float16') data = float16ToFloat32Array(new Uint16Array(raw.buffer, 0, count));
  else {
    const codes = q.dtype === 'uint8' ? raw : new Uint16Array(raw.buffer, 0, count);
    data = new Float32Array(count);
    // As tfjs: the affine map in double precision, rounded once to float32 on store.
    for (let i = 0; i < count; i++) data[i] = codes[i]! * q.scale! + q.min!;
  }
  return { shape: [...entry.shape], dtype: q ? q.dtype : 'float32', data };
}
