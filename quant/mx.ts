/**
 * MX quantization, bit-exact with microsoft/microxcaling's
 * `_quantize_mx(A, scale_bits=8, elem_format, axes=[axis], block_size, round)`.
 *
 * Per block: E = shared exponent (shared-exponent.ts), each x/2^E is rounded to
 * the element grid (element.ts) and multiplied back by 2^E, all in float32.
 * The kernel produces, in one pass, the E8M0 scale codes, the element codes and
 * the dequantized float32 values; the dequantized value of an element is
 * decoded from its code, so unpack(pack(x)) is bit-identical to quantize(x).
 *
 * NaN/Inf rule (OCP MX v1.0, and what microxcaling does): a block holding any
 * NaN or ±Inf gets the NaN scale (E8M0 code 0xFF) and all its elements become
 * NaN (element codes 0). Finite inputs never overflow: the scale saturates them.
 *
 * Zeros: an FP element that rounds to zero from a negative value keeps the -0
 * code, as microxcaling keeps -0.0; INT codes are two's complement and have no
 * -0, so INT zeros are +0.
 *
 * Speed: the inner loop works on float32 bit patterns (Uint32Array view) for
 * the block maximum and element exponents, uses precomputed power-of-two and
 * code-value tables, and allocates nothing per element.
 */
import type { ElementFormat, Rounding } from './formats.ts';
import { elementFormat } from './formats.ts';
import { blockGeometry, type BlockGeometry } from './blocks.ts';
import { sharedExponentFromBits, E8M0_NAN_CODE } from './shared-exponent.ts';
import { encodeElement, elementValueTable } from './element.ts';

export interface MxOptions {
  /** Element format or its registry name (e.g. 'fp4_e2m1', 'int8'). */
  format: ElementFormat | string;
  blockSize?: number;
  /** Axis along which blocks run; negative counts from the end. Default -1. */
  axis?: number;
  rounding?: Rounding;
}

export interface MxEncoded {
  geometry: BlockGeometry;
  format: ElementFormat;
  rounding: Rounding;
  /** E8M0 scale codes, one per block, in block order (blocks.ts). 0xFF = NaN. */
  scaleCodes: Uint8Array;
  /** Element codes, one per element, in the tensor's C order. */
  codes: Uint8Array;
  /** Dequantized values (what microxcaling returns), the tensor's C order. */
  values: Float32Array;
}

/** Power-of-two table: POW2[k + POW2_OFFSET] = 2^k for k in [-POW2_OFFSET, POW2_OFFSET]. */
const POW2_OFFSET = 400;
const POW2 = new Float64Array(2 * POW2_OFFSET + 1);
for (let k = -POW2_OFFSET; k <= POW2_OFFSET; k++) POW2[k + POW2_OFFSET] = 2 ** k;

/** Constants of one element format the kernel needs, computed once per call. */
interface KernelTables {
  isFp: boolean;
  emax: number;
  emin: number;
  mbits: number;
  /** 2^mbits for FP; the scaling of |x| before rounding for INT is 2^fracBits. */
  intScale: number;
  /** Largest magnitude code (the code of maxNormal without sign). */
  maxMag: number;
  /** Magnitude code -> value. */
  magValue: Float64Array;
  signBit: number;
  /** INT: two's complement mask. */
  codeMask: number;
}

function kernelTables(fmt: ElementFormat): KernelTables {
  const maxMag = encodeElement(fmt.maxNormal, fmt);
  const magValue = new Float64Array(maxMag + 1);
  for (let c = 0; c <= maxMag; c++) {
    magValue[c] = fmt.kind === 'fp' ? magnitudeOfFpCode(c, fmt.mbits, fmt.bias) : c / 2 ** fmt.fracBits;
  }
  return {
    isFp: fmt.kind === 'fp',
    emax: fmt.emax,
    emin: fmt.kind === 'fp' ? fmt.emin : 0,
    mbits: fmt.kind === 'fp' ? fmt.mbits : 0,
    intScale: fmt.kind === 'int' ? 2 ** fmt.fracBits : 1,
    maxMag,
    magValue,
    signBit: fmt.kind === 'fp' ? 1 << (fmt.bits - 1) : 0,
    codeMask: (1 << fmt.bits) - 1,
  };
}

function magnitudeOfFpCode(c: number, mbits: number, bias: number): number {
  const field = c >> mbits;
  const mant = c & ((1 << mbits) - 1);
  return field === 0 ? mant * 2 ** (1 - bias - mbits) : 2 ** (field - bias) * (1 + mant / 2 ** mbits);
}

/**
 * Quantizes a float32 tensor to MX and returns scale codes, element codes and
 * dequantized values. Throws InputError on a bad format, axis or block size.
 */
export function mxEncode(data: Float32Array, shape: readonly number[], opts: MxOptions): MxEncoded {
  const format = typeof opts.format === 'string' ? elementFormat(opts.format) : opts.format;
  const rounding = opts.rounding ?? 'nearest';
  const g = blockGeometry(shape, opts.axis ?? -1, opts.blockSize ?? 32);
  if (data.length !== g.size) throw new RangeError(`data has ${data.length} values, shape [${shape.join(', ')}] needs ${g.size}`);
  const scaleCodes = new Uint8Array(g.blockCount);
  const codes = new Uint8Array(g.size);
  const values = new Float32Array(g.size);
  mxKernel(data, g, kernelTables(format), rounding === 'even', scaleCodes, codes, values);
  return { geometry: g, format, rounding, scaleCodes, codes, values };
}

/** MX fake quantization: the dequantized tensor, as microxcaling's _quantize_mx returns it. */
export function quantizeMx(data: Float32Array, shape: readonly number[], opts: MxOptions): Float32Array {
  return mxEncode(data, shape, opts).values;
}

/**
 * The kernel. For each (outer o, block b) it handles all `inner` columns at
 * once so that memory is walked contiguously whatever the axis: first the
 * block maxima of every column (as float32 bit patterns: for non-negative
 * floats the integer order is the numeric order, and NaN/Inf patterns are
 * >= 0x7F800000), then the elements.
 */
function mxKernel(
  data: Float32Array,
  g: BlockGeometry,
  t: KernelTables,
  even: boolean,
  scaleCodes: Uint8Array,
  codes: Uint8Array,
  values: Float32Array,
): void {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const { outer, len, inner, blockSize, nBlocks } = g;
  const { isFp, emax, emin, mbits, intScale, maxMag, magValue, signBit, codeMask } = t;
  const maxBits = new Uint32Array(inner);
  const exps = new Int32Array(inner); // shared exponent per column, or NAN_E
  const NAN_E = 0x7fffffff;
  const fround = Math.fround;
  const floor = Math.floor;

  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < nBlocks; b++) {
      const i0 = b * blockSize;
      const i1 = Math.min(i0 + blockSize, len);
      const base = o * len * inner;
      maxBits.fill(0);
      for (let i = i0; i < i1; i++) {
        const row = base + i * inner;
        for (let n = 0; n < inner; n++) {
          const ab = bits[row + n]! & 0x7fffffff;
          if (ab > maxBits[n]!) maxBits[n] = ab;
        }
      }
      const sbase = (o * nBlocks + b) * inner;
      for (let n = 0; n < inner; n++) {
        const e = sharedExponentFromBits(maxBits[n]!, emax);
        if (e !== e) {
          exps[n] = NAN_E;
          scaleCodes[sbase + n] = E8M0_NAN_CODE;
        } else {
          exps[n] = e;
          scaleCodes[sbase + n] = e + 127;
        }
      }
      for (let i = i0; i < i1; i++) {
        const row = base + i * inner;
        for (let n = 0; n < inner; n++) {
          const idx = row + n;
          const e = exps[n]!;
          if (e === NAN_E) {
            values[idx] = NaN;
            codes[idx] = 0;
            continue;
          }
          const vb = bits[idx]!;
          const negative = vb >>> 31;
          // |x| = |v| / 2^E in float32 (exact unless it falls into float32 subnormals).
          const ax = fround(Math.abs(data[idx]!) * POW2[POW2_OFFSET - e]!);
          let mag: number;
          if (isFp) {
            // Exponent of |x| from the bits of v: exact, since x = v·2^-E (when x
            // underflows, the exponent is below emin either way).
            const field = (vb >>> 23) & 0xff;
            let p = field !== 0 ? field - 127 - e : -118 - Math.clz32(vb & 0x7fffff) - e;
            if (p < emin) p = emin;
            const s = ax * POW2[POW2_OFFSET + mbits - p]!;
            const tt = s + 0.5;
            let r = floor(fround(tt));
            if (even && r === tt && (r & 1) === 1) r -= 1;
            mag = (p - emin) * (1 << mbits) + r;
          } else {
            const s = ax * intScale;
            const tt = s + 0.5;
            let r = floor(fround(tt));
            if (even && r === tt && (r & 1) === 1) r -= 1;
            mag = r;
          }
          if (mag > maxMag) mag = maxMag;
          const q = magValue[mag]! * POW2[POW2_OFFSET + e]!;
          if (negative) {
            // FP keeps -0 (its own code); INT two's complement has no -0: 0 - 0 = +0.
            values[idx] = isFp ? -q : 0 - q;
            codes[idx] = isFp ? signBit | mag : -mag & codeMask;
          } else {
            values[idx] = q;
            codes[idx] = mag;
          }
        }
      }
    }
  }
}

/** Decodes MX codes back to float32 values (the inverse of mxEncode's code output). */
export function mxDecode(
  scaleCodes: Uint8Array,
  codes: Uint8Array,
  g: BlockGeometry,
  format: ElementFormat | string,
): Float32Array {
  const fmt = typeof format === 'string' ? elementFormat(format) : format;
  const table = elementValueTable(fmt);
  const out = new Float32Array(g.size);
  const { outer, len, inner, blockSize, nBlocks } = g;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < len; i++) {
      const b = (i / blockSize) | 0;
      const row = (o * len + i) * inner;
      const srow = (o * nBlocks + b) * inner;
      for (let n = 0; n < inner; n++) {
        const sc = scaleCodes[srow + n]!;
        out[row + n] = sc === E8M0_NAN_CODE ? NaN : table[codes[row + n]!]! * POW2[POW2_OFFSET + sc - 127]!;
      }
    }
  }
  return out;
}
