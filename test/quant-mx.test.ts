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
