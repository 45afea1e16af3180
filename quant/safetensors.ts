/**
 * Reads one named tensor from a .safetensors file (F32, F16 or BF16), so real
 * model weights can be quantized. Only the header and the tensor's own bytes
 * are read, so multi-gigabyte checkpoints are fine.
 *
 * Format: u64 LE header length N, then N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data; offsets are relative to the end of the header.
 */
import { readSync, closeSync, fstatSync } from 'node:fs';
import { openInputFile } from '../common/input-file.ts';
import { InputError } from '../common/errors.ts';
import { float16ToFloat32Array, bfloat16ToFloat32Array } from './half.ts';

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface LoadedTensor {
  shape: number[];
  /** The stored dtype ('F32', 'F16', 'BF16'); data is float32 either way. */
  dtype: string;
  data: Float32Array;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

function readExactly(fd: number, length: number, position: number, path: string): Uint8Array {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new InputError(`${path}: file ends early (truncated .safetensors)`);
    done += n;
  }
  return buf;
}

/** The header of a .safetensors file: tensor name -> entry (metadata removed). */
export function readSafetensorsHeader(path: string): { entries: Record<string, SafetensorsEntry>; dataStart: number } {
  const fd = openInputFile(path);
  try {
    return readHeader(fd, path);
  } finally {
    closeSync(fd);
  }
}

function readHeader(fd: number, path: string): { entries: Record<string, SafetensorsEntry>; dataStart: number } {
  const size = fstatSync(fd).size;
  if (size < 8) throw new InputError(`${path} is not a .safetensors file (shorter than its 8-byte header length)`);
  const n = Number(new DataView(readExactly(fd, 8, 0, path).buffer).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > size) throw new InputError(`${path} is not a .safetensors file (header length ${n} does not fit the file)`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(readExactly(fd, n, 8, path))) as Record<string, unknown>;
  } catch {
    throw new InputError(`${path} is not a .safetensors file (its header is not JSON)`);
  }
  delete parsed.__metadata__;
  return { entries: parsed as Record<string, SafetensorsEntry>, dataStart: 8 + n };
}

/** Reads tensor `name`; an unknown name is an InputError listing (some of) the names in the file. */
export function readSafetensorsTensor(path: string, name: string): LoadedTensor {
  const fd = openInputFile(path);
  try {
    const { entries, dataStart } = readHeader(fd, path);
    const entry = Object.prototype.hasOwnProperty.call(entries, name) ? entries[name] : undefined;
    if (!entry) {
      const names = Object.keys(entries);
      const shown = names.slice(0, 30).join(', ') + (names.length > 30 ? `, ... (${names.length} in all)` : '');
      throw new InputError(`${path} has no tensor '${name}': tensors in the file are ${shown}`);
    }
    const width = BYTES[entry.dtype];
    if (width === undefined) {
      throw new InputError(`${path}: tensor '${name}' has dtype ${entry.dtype}, which is not supported: allowed dtypes are F32, F16, BF16`);
    }
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = entry.data_offsets;
    if (end - begin !== count * width) {
      throw new InputError(`${path}: tensor '${name}' spans ${end - begin} bytes but shape [${entry.shape.join(', ')}] of ${entry.dtype} needs ${count * width}`);
    }
    const raw = readExactly(fd, end - begin, dataStart + begin, path);
    let data: Float32Array;
    if (entry.dtype === 'F32') data = new Float32Array(raw.buffer, 0, count);
    else {
      const halves = new Uint16Array(raw.buffer, 0, count);
      data = entry.dtype === 'F16' ? float16ToFloat32Array(halves) : bfloat16ToFloat32Array(halves);
    }
    return { shape: [...entry.shape], dtype: entry.dtype, data };
  } finally {
    closeSync(fd);
  }
}
