import { describe, it, expect } from 'vitest';
import { mxManifest, mxArray, bitMismatches } from './quant-vectors.ts';
import { quantizeMx, mxEncode, mxDecode } from '../quant/mx.ts';
import { quantizeElement } from '../quant/element.ts';
import { elementFormat } from '../quant/formats.ts';
import { sharedExponent, blockMaxAbs } from '../quant/shared-exponent.ts';

const cases = mxManifest();

describe('MX quantization matches microxcaling bit for bit', () => {
  it('has the reference manifest', () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  it.each(cases.map((c) => [c.output, c] as const))('%s', (_name, c) => {
    const input = mxArray(c.input);
    const expected = mxArray(c.output);
    expect(c.scale_bits).toBe(8);
    const got = quantizeMx(input.data, input.shape, { format: c.format, blockSize: c.block_size, axis: c.axis, rounding: c.rounding });
    expect(bitMismatches(got, expected.data)).toEqual([]);
  });
});

describe('the element API and the shared-exponent helper reproduce the vectors on their own', () => {
  // This is the path another quantizer (MicroScopiQ) builds on: E from the block
  // maximum, x/2^E rounded by quantizeElement, times 2^E, all in float32.
  it.each(cases.map((c) => [c.output, c] as const))('%s', (_name, c) => {
    const input = mxArray(c.input);
    const expected = mxArray(c.output);
    const fmt = elementFormat(c.format);
    const [rows, cols] = input.shape as [number, number];
    const got = new Float32Array(input.data.length);
    for (let r = 0; r < rows; r++) {
      for (let b0 = 0; b0 < cols; b0 += c.block_size) {
        const start = r * cols + b0;
        const end = Math.min(start + c.block_size, (r + 1) * cols);
        const e = sharedExponent(blockMaxAbs(input.data, start, end), fmt.emax);
        for (let i = start; i < end; i++) {
          const x = Math.fround(input.data[i]! / 2 ** e);
          got[i] = quantizeElement(x, fmt, c.rounding) * 2 ** e;
        }
      }
    }
    expect(bitMismatches(got, expected.data)).toEqual([]);
  });
});

describe('MX codes', () => {
  it('decoding the codes gives back exactly the quantized values (every case)', () => {
    for (const c of cases) {
      const input = mxArray(c.input);
      const enc = mxEncode(input.data, input.shape, { format: c.format, blockSize: c.block_size, axis: c.axis, rounding: c.rounding });
      const dec = mxDecode(enc.scaleCodes, enc.codes, enc.geometry, enc.format);
      expect(new Uint32Array(dec.buffer)).toEqual(new Uint32Array(enc.values.buffer));
    }
  });

  it('any axis: quantizing along axis 0 equals quantizing the transpose along the last axis', () => {
    const input = mxArray('in_heavy_t3.npy');
    const [rows, cols] = input.shape as [number, number];
    const t = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = input.data[r * cols + k]!;
    for (const format of ['fp4_e2m1', 'int8', 'fp8_e4m3']) {
      const a = quantizeMx(t, [cols, rows], { format, blockSize: 4, axis: 0 });
      const b = quantizeMx(input.data, [rows, cols], { format, blockSize: 4, axis: -1 });
      const bt = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) bt[k * rows + r] = b[r * cols + k]!;
      expect(bitMismatches(a, bt)).toEqual([]);
    }
  });

  it('a short last block is quantized as if zero-padded (microxcaling pads with zeros)', () => {
    const input = mxArray('in_normal.npy');
    const cols = input.shape[1]!;
    const row = input.data.subarray(0, 40); // 32 + a short block of 8
    const padded = new Float32Array(64);
    padded.set(row);
    const a = quantizeMx(row, [40], { format: 'fp6_e2m3', blockSize: 32 });
    const b = quantizeMx(padded, [64], { format: 'fp6_e2m3', blockSize: 32 }).subarray(0, 40);
    expect(bitMismatches(a, b)).toEqual([]);
    expect(cols).toBe(96);
  });

  it('NaN or Inf in a block makes the whole block NaN with scale code 0xFF; other blocks are untouched', () => {
    const x = new Float32Array([1, 2, NaN, 3, 0.5, 0.25, 0.125, 1, Infinity, 1, 1, 1]);
    const enc = mxEncode(x, [12], { format: 'fp8_e4m3', blockSize: 4 });
    expect(Array.from(enc.scaleCodes)).toEqual([0xff, 127 - 8, 0xff]);
    expect(enc.values.slice(0, 4).every(Number.isNaN)).toBe(true);
    expect(Array.from(enc.values.slice(4, 8))).toEqual([0.5, 0.25, 0.125, 1]);
    expect(enc.values.slice(8).every(Number.isNaN)).toBe(true);
  });
});

describe('the fast MX kernel agrees with the element-by-element reference path on hard inputs', () => {
  // The element API (quantizeElement + sharedExponent) is itself checked against
  // microxcaling above; here it serves as the oracle for inputs the vectors do
  // not cover: float32 subnormals, huge dynamic range, exact ties, values one
  // ulp around half a subnormal step, blocks clamped at E = -127.
  function reference(data: Float32Array, blockSize: number, format: string, rounding: 'nearest' | 'even'): Float32Array {
    const fmt = elementFormat(format);
    const out = new Float32Array(data.length);
    for (let start = 0; start < data.length; start += blockSize) {
      const end = Math.min(start + blockSize, data.length);
      const e = sharedExponent(blockMaxAbs(data, start, end), fmt.emax);
      for (let i = start; i < end; i++) {
        const q = quantizeElement(Math.fround(data[i]! / 2 ** e), fmt, rounding);
        out[i] = fmt.kind === 'int' && q === 0 ? 0 : q * 2 ** e;
      }
    }
    return out;
  }

  function hardData(seed: number, count: number): Float32Array {
    let s = seed >>> 0;
    const rnd = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    const out = new Float32Array(count);
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) {
      const kind = rnd();
      if (kind < 0.25) out[i] = (rnd() - 0.5) * 2 ** Math.floor(rnd() * 60 - 30);
      else if (kind < 0.35) u[i] = (Math.floor(rnd() * 0x1000000) | (rnd() < 0.5 ? 0x80000000 : 0)) >>> 0; // subnormals
      else if (kind < 0.55) out[i] = (Math.floor(rnd() * 64) / 8 - 4) * 2 ** Math.floor(rnd() * 8 - 4); // ties and grid points
      else if (kind < 0.7) {
        // one ulp around half of an element step below a block maximum of 2^k
        const half = 2 ** Math.floor(rnd() * 40 - 20);
        const bits = new Uint32Array(new Float32Array([half]).buffer)[0]!;
        u[i] = bits + Math.floor(rnd() * 5) - 2;
      } else if (kind < 0.75) out[i] = 0;
      else out[i] = (rnd() - 0.5) * 2 ** Math.floor(rnd() * 250 - 140);
    }
    return out;
  }

  const formats = ['fp8_e5m2', 'fp8_e4m3', 'fp8_e3m4', 'fp6_e3m2', 'fp6_e2m3', 'fp6_e4m1', 'fp6_e1m4', 'fp4_e2m1', 'fp4_e1m2', 'fp4_e3m0', 'int8', 'int4', 'int2'];
  it.each(formats)('%s', (format) => {
    for (const [seed, blockSize] of [[1, 32], [2, 16], [3, 4], [4, 2], [5, 7]] as const) {
      const data = hardData(seed * 7919, 4096);
      for (const rounding of ['nearest', 'even'] as const) {
        const expected = reference(data, blockSize, format, rounding);
        const fast = quantizeMx(data, [data.length], { format, blockSize, rounding });
        expect(bitMismatches(fast, expected)).toEqual([]);
        const enc = mxEncode(data, [data.length], { format, blockSize, rounding });
        expect(new Uint32Array(enc.values.buffer)).toEqual(new Uint32Array(fast.buffer));
        expect(new Uint32Array(mxDecode(enc.scaleCodes, enc.codes, enc.geometry, format).buffer)).toEqual(new Uint32Array(fast.buffer));
      }
    }
  });
});
