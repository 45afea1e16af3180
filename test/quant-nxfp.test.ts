import { describe, it, expect } from 'vitest';
import { mxArray, bitMismatches, mxManifest } from './quant-vectors.ts';
import { nxfpEncode, quantizeNxfp, nxfpConfig, nxfpEffectiveBits, recycledValue, NXFP_FAMILIES, type NxfpOptions } from '../quant/nxfp.ts';
import { quantizeMx, mxEncode } from '../quant/mx.ts';
import { elementFormat } from '../quant/formats.ts';
import { packMx, packNxfp, unpack } from '../quant/pack.ts';
import { InputError } from '../common/errors.ts';

const INPUTS = ['in_normal.npy', 'in_heavy_t3.npy', 'in_llm_like_outliers.npy', 'in_wide_range.npy', 'in_special.npy'];

function sse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** Squared error per block of `k` consecutive elements. */
function blockSse(x: Float32Array, q: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < x.length; s += k) out.push(sse(x.subarray(s, s + k), q.subarray(s, s + k)));
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('NxFP with every technique off is plain MX', () => {
  it.each(Object.entries(NXFP_FAMILIES))('%s equals MX %s bit for bit on every reference input', (family, formats) => {
    for (const file of INPUTS) {
      const x = mxArray(file);
      for (const rounding of ['nearest', 'even'] as const) {
        const a = quantizeNxfp(x.data, x.shape, { family: family as NxfpOptions['family'], rounding });
        const b = quantizeMx(x.data, x.shape, { format: formats[0], rounding });
        expect(bitMismatches(a, b)).toEqual([]);
      }
    }
  });
});

describe('NanoMantissa', () => {
  // Blocks whose maximum sits at 1.9·2^k: the E8M0 scale maps it to 7.6 on the
  // E2M1 grid, which saturates to 6 (an error of 21% on the largest element).
  function needsNanoMantissa(): Float32Array {
    const r = rng(11);
    const x = new Float32Array(64 * 32);
    for (let b = 0; b < 64; b++) {
      const k = 2 ** Math.floor(r() * 10 - 5);
      for (let j = 0; j < 32; j++) x[b * 32 + j] = (r() * 2 - 1) * 1.2 * k;
      x[b * 32 + Math.floor(r() * 32)] = (r() < 0.5 ? -1.9 : 1.9) * k;
    }
    return x;
  }

  it('lowers the error on blocks whose maximum the power-of-two scale tracks badly, more with more bits', () => {
    const x = needsNanoMantissa();
    const errs = [0, 1, 2, 3].map((m) => sse(x, quantizeNxfp(x, [x.length], { family: 'nxfp4', nanoMantissa: m })));
    expect(errs[1]!).toBeLessThan(errs[0]! * 0.9);
    expect(errs[3]!).toBeLessThan(errs[0]! * 0.9);
    expect(errs[2]!).toBeLessThanOrEqual(errs[1]! * 1.05);
  });

  it('is never worse than MX on any block (the MX scale is always a candidate)', () => {
    for (const file of INPUTS.slice(0, 4)) {
      const x = mxArray(file);
      const mx = blockSse(x.data, quantizeMx(x.data, x.shape, { format: 'fp4_e2m1' }), 32);
      const nm = blockSse(x.data, quantizeNxfp(x.data, x.shape, { family: 'nxfp4', nanoMantissa: 2 }), 32);
      nm.forEach((e, i) => expect(e).toBeLessThanOrEqual(mx[i]!));
    }
  });

  it('uses scales with a mantissa: E8M2 codes carry nonzero mantissa bits, and decode exactly', () => {
    const x = needsNanoMantissa();
    const enc = nxfpEncode(x, [x.length], { family: 'nxfp4', nanoMantissa: 2 });
    expect(Array.from(enc.scaleCodes).some((c) => (c & 3) !== 0)).toBe(true);
    const u = unpack(packNxfp(enc));
    expect(new Uint32Array(u.values.buffer)).toEqual(new Uint32Array(enc.values.buffer));
  });
});

describe('Adaptive Microexponent', () => {
  // Half the blocks are evenly spread (a uniform grid like E1M2 fits), half span
  // many octaves (only E3M0's exponent range keeps the small ones).
  function needsAdaptive(): Float32Array {
    const r = rng(5);
    const x = new Float32Array(64 * 32);
    for (let b = 0; b < 64; b++) {
      for (let j = 0; j < 32; j++) {
        const sign = r() < 0.5 ? -1 : 1;
        x[b * 32 + j] = b % 2 === 0 ? sign * (0.6 + 0.4 * r()) : sign * 2 ** -(r() * 10);
      }
    }
    return x;
  }

  it('picks other formats where they fit better and lowers the error', () => {
    const x = needsAdaptive();
    const plain = sse(x, quantizeNxfp(x, [x.length], { family: 'nxfp4' }));
    const enc = nxfpEncode(x, [x.length], { family: 'nxfp4', adaptiveMicroexponent: true });
    expect(sse(x, enc.values)).toBeLessThan(plain * 0.7);
    const used = new Set(enc.selectors);
    expect(used.size).toBeGreaterThan(1);
    expect(enc.config.formats.map((f) => f.name)).toEqual(['fp4_e2m1', 'fp4_e1m2', 'fp4_e3m0']);
    // Each block's values are on the grid of the format its selector names (checked via round trip).
    const u = unpack(packNxfp(enc));
    expect(new Uint32Array(u.values.buffer)).toEqual(new Uint32Array(enc.values.buffer));
    expect(Array.from(u.selectors)).toEqual(Array.from(enc.selectors));
  });

  it('is never worse than the default format on any block', () => {
    for (const family of ['nxfp4', 'nxfp6', 'nxfp8'] as const) {
      const x = mxArray('in_heavy_t3.npy');
      const a = blockSse(x.data, quantizeNxfp(x.data, x.shape, { family }), 32);
      const b = blockSse(x.data, quantizeNxfp(x.data, x.shape, { family, adaptiveMicroexponent: true }), 32);
      b.forEach((e, i) => expect(e).toBeLessThanOrEqual(a[i]!));
    }
  });
});

describe('Code Recycling', () => {
  it('the -0 code means -(L1 + L2)/2: -5 for E2M1, -432 for E4M3, -26 for E3M2', () => {
    expect(recycledValue(elementFormat('fp4_e2m1'))).toBe(-5);
    expect(recycledValue(elementFormat('fp8_e4m3'))).toBe(-432);
    expect(recycledValue(elementFormat('fp6_e3m2'))).toBe(-26);
    expect(() => recycledValue(elementFormat('int4'))).toThrow(InputError);
  });

  it('lowers the error on data that needs the recycled level, which it then holds exactly', () => {
    // Blocks with maximum 6 (E = 0 for E2M1) and many values at -5: E2M1 rounds -5 to -6 (ties away).
    const r = rng(3);
    const x = new Float32Array(32 * 32);
    for (let i = 0; i < x.length; i++) x[i] = i % 32 === 0 ? 6 : r() < 0.3 ? -5 : (r() * 2 - 1) * 4;
    const plain = quantizeNxfp(x, [x.length], { family: 'nxfp4' });
    const enc = nxfpEncode(x, [x.length], { family: 'nxfp4', codeRecycling: true });
    expect(sse(x, enc.values)).toBeLessThan(sse(x, plain) * 0.5);
    for (let i = 0; i < x.length; i++) {
      if (x[i] === -5) {
        expect(enc.values[i]).toBe(-5);
        expect(enc.codes[i]).toBe(0b1000);
      }
    }
    const u = unpack(packNxfp(enc));
    expect(new Uint32Array(u.values.buffer)).toEqual(new Uint32Array(enc.values.buffer));
  });

  it('never produces -0 (its code is taken) and is never worse per block', () => {
    const x = mxArray('in_normal.npy');
    const a = quantizeNxfp(x.data, x.shape, { family: 'nxfp4' });
    const enc = nxfpEncode(x.data, x.shape, { family: 'nxfp4', codeRecycling: true });
    expect(Array.from(enc.values).some((v) => Object.is(v, -0))).toBe(false);
    const ea = blockSse(x.data, a, 32);
    blockSse(x.data, enc.values, 32).forEach((e, i) => expect(e).toBeLessThanOrEqual(ea[i]!));
  });
});

describe('combinations, EBW and packing', () => {
  it('all three together are never worse than any one alone (per block) on the reference inputs', () => {
    for (const file of INPUTS.slice(0, 4)) {
      const x = mxArray(file);
      const all = blockSse(x.data, quantizeNxfp(x.data, x.shape, { family: 'nxfp4', nanoMantissa: 2, adaptiveMicroexponent: true, codeRecycling: true }), 32);
      for (const one of [{ nanoMantissa: 2 }, { adaptiveMicroexponent: true }, { codeRecycling: true }]) {
        const e = blockSse(x.data, quantizeNxfp(x.data, x.shape, { family: 'nxfp4', ...one }), 32);
        all.forEach((v, i) => expect(v).toBeLessThanOrEqual(e[i]!));
      }
    }
  });

  it('EBW counts element, scale and selector bits', () => {
    expect(nxfpEffectiveBits(nxfpConfig({ family: 'nxfp4' }))).toBe(4 + 8 / 32);
    expect(nxfpEffectiveBits(nxfpConfig({ family: 'nxfp4', nanoMantissa: 2 }))).toBe(4 + 10 / 32);
    expect(nxfpEffectiveBits(nxfpConfig({ family: 'nxfp4', adaptiveMicroexponent: true }))).toBe(4 + 10 / 32); // 3 formats: 2 bits
    expect(nxfpEffectiveBits(nxfpConfig({ family: 'nxfp8', adaptiveMicroexponent: true, nanoMantissa: 3, blockSize: 16 }))).toBe(8 + 13 / 16);
    expect(nxfpEffectiveBits(nxfpConfig({ family: 'nxfp6', codeRecycling: true }))).toBe(6 + 8 / 32); // recycling is free
  });

  it('packed size is exactly blocks x ceil(record bits / 8) plus the header', () => {
    const x = mxArray('in_normal.npy');
    const enc = nxfpEncode(x.data, x.shape, { family: 'nxfp6', nanoMantissa: 3, adaptiveMicroexponent: true });
    const u = unpack(packNxfp(enc));
    expect(u.header.blockBytes).toBe(Math.ceil((11 + 2 + 32 * 6) / 8));
    expect(u.header.blockCount).toBe(8 * 3);
  });

  it('MX: unpack(pack(x)) is bit-identical to quantize(x) for every reference case', () => {
    for (const c of mxManifest()) {
      const x = mxArray(c.input);
      const enc = mxEncode(x.data, x.shape, { format: c.format, blockSize: c.block_size, axis: c.axis, rounding: c.rounding });
      const u = unpack(packMx(enc));
      expect(new Uint32Array(u.values.buffer)).toEqual(new Uint32Array(quantizeMx(x.data, x.shape, { format: c.format, blockSize: c.block_size, rounding: c.rounding }).buffer));
      expect(u.header.blockBytes).toBe(1 + (c.block_size * enc.format.bits) / 8);
    }
  });

  it('the documented bit layout: E8M0 scale byte first, then codes LSB-first', () => {
    // One MXFP4 block of 2: [1, -6] -> E = 0 (max 6 -> floor(log2 6) - 2), codes 0b0010 and 0b1111.
    const enc = mxEncode(new Float32Array([1, -6]), [2], { format: 'fp4_e2m1', blockSize: 2 });
    const bytes = packMx(enc);
    const payload = bytes.subarray(bytes.length - 2);
    expect(Array.from(payload)).toEqual([127, 0b1111_0010]);
  });

  it('round trips along axis 0, with a short last block, and with NaN blocks', () => {
    const r = rng(9);
    const x = new Float32Array(13 * 5).map(() => (r() - 0.5) * 10);
    x[7] = NaN;
    for (const opts of [
      { family: 'nxfp4' as const, axis: 0, blockSize: 4, nanoMantissa: 1, adaptiveMicroexponent: true, codeRecycling: true },
      { family: 'nxfp8' as const, axis: 1, blockSize: 4, codeRecycling: true },
    ]) {
      const enc = nxfpEncode(x, [13, 5], opts);
      const u = unpack(packNxfp(enc));
      expect(bitMismatches(u.values, enc.values)).toEqual([]);
      expect(u.values.some(Number.isNaN)).toBe(true);
    }
    const mx = mxEncode(x, [13, 5], { format: 'int4', axis: 0, blockSize: 4 });
    expect(bitMismatches(unpack(packMx(mx)).values, mx.values)).toEqual([]);
  });

  it('bad options are InputErrors naming the allowed values', () => {
    expect(() => nxfpConfig({ family: 'nxfp4', nanoMantissa: 4 })).toThrow(/--nano-mantissa 4 is out of range: allowed integers 0..3/);
    expect(() => nxfpConfig({ family: 'nxfp5' as never })).toThrow(/nxfp4, nxfp6, nxfp8/);
  });
});
