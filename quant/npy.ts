/**
 * Minimal .npy reader and writer (NumPy format versions 1.0-3.0).
 *
 * readNpy accepts little-endian float32 ('<f4'), float64 ('<f8', numpy's
 * default dtype) and float16 ('<f2') arrays in C order and returns float32
 * data: float16 is widened exactly, float64 is rounded to the nearest float32
 * (ties to even, as numpy's astype(np.float32): magnitudes beyond float32's
 * range become ±Inf, tiny ones float32 subnormals or ±0), and the result says
 * it was converted (`converted`) so that the CLI can note it. Anything else
 * (other dtypes, big-endian, Fortran order, object arrays) is an InputError that
 * names what was found and what is accepted. writeNpy writes '<f4', C order,
 * version 1.0, atomically.
 */
import { readInputFile } from '../common/input-file.ts';
import { InputError } from '../common/errors.ts';
import { writeFileAtomically } from '../common/output-path.ts';
import { float16ToFloat32Array } from './half.ts';

export interface NpyArray {
  shape: number[];
  /** The dtype as stored in the file ('<f4', '<f8' or '<f2'); data is float32 either way. */
  dtype: string;
  data: Float32Array;
  /** float64 input only: it was rounded to float32; `overflowed` finite values became ±Inf. */
  converted?: { from: 'float64'; overflowed: number };
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function readNpy(path: string): NpyArray {
  return parseNpy(readInputFile(path), path);
}

/** Parses the bytes of a .npy file; `what` names the source in error messages. */
export function parseNpy(buf: Uint8Array, what = '.npy data'): NpyArray {
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) {
    throw new InputError(`${what} is not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new InputError(`${what}: .npy format version ${major} is not supported: allowed versions are 1, 2, 3`);
  }
  if (headerStart + headerLen > buf.length) throw new InputError(`${what}: truncated .npy header`);
  const header = new TextDecoder('latin1').decode(buf.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`${what}: malformed .npy header: ${header.trim()}`);
  }
  if (fortran === 'True') {
    throw new InputError(`${what}: Fortran-order arrays are not supported: save the array in C order (np.ascontiguousarray)`);
  }
  const shape = shapeText
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => Number(t));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new InputError(`${what}: bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLen;
  const accepted = "accepted dtypes are float32 ('<f4'), float64 ('<f8', converted to float32) and float16 ('<f2'), little-endian";
  if (descr === '<f4' || (descr === '=f4' && isLittleEndianHost())) {
    need(buf, dataStart, count * 4, what);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(buf.subarray(dataStart, dataStart + count * 4));
    return { shape, dtype: '<f4', data };
  }
  if (descr === '<f2' || (descr === '=f2' && isLittleEndianHost())) {
    need(buf, dataStart, count * 2, what);
    const raw = new Uint16Array(count);
    new Uint8Array(raw.buffer).set(buf.subarray(dataStart, dataStart + count * 2));
    return { shape, dtype: '<f2', data: float16ToFloat32Array(raw) };
  }
  if (descr === '<f8' || (descr === '=f8' && isLittleEndianHost())) {
    need(buf, dataStart, count * 8, what);
    const wide = new Float64Array(count);
    new Uint8Array(wide.buffer).set(buf.subarray(dataStart, dataStart + count * 8));
    const data = Float32Array.from(wide); // round to nearest, ties to even
    let overflowed = 0;
    for (let i = 0; i < count; i++) if (Number.isFinite(wide[i]!) && !Number.isFinite(data[i]!)) overflowed++;
    return { shape, dtype: '<f8', data, converted: { from: 'float64', overflowed } };
  }
  throw new InputError(`${what}: dtype '${descr}' is not supported: ${accepted}`);
}

function need(buf: Uint8Array, start: number, bytes: number, what: string): void {
  if (start + bytes > buf.length) {
    throw new InputError(`${what}: file holds ${buf.length - start} data bytes but its header announces ${bytes}`);
  }
}

function isLittleEndianHost(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

/** Serializes a float32 array as .npy version 1.0 bytes. */
export function formatNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so that magic + version + length + header + newline is a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Writes a float32 .npy file (C order) atomically: no partial file on failure. */
export function writeNpy(path: string, shape: readonly number[], data: Float32Array): void {
  writeFileAtomically(path, formatNpy(shape, data));
}
