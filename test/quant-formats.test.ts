import { describe, it, expect } from 'vitest';
import { ELEMENT_FORMATS, ELEMENT_FORMAT_NAMES, elementFormat, scaleFormat, E8M0 } from '../quant/formats.ts';
import { quantizeElement, encodeElement, decodeElement, elementValueTable, negativeZeroCode, makeElementQuantizer } from '../quant/element.ts';
import { sharedExponent } from '../quant/shared-exponent.ts';
import { InputError } from '../common/errors.ts';

describe('element formats', () => {
  // Golden values: OCP MX v1.0 table (BRIEF §2.1) and microxcaling's _get_format_params.
  it.each([
    ['fp8_e5m2', 8, 15, 57344],
    ['fp8_e4m3', 8, 8, 448],
    ['fp6_e3m2', 6, 4, 28],
    ['fp6_e2m3', 6, 2, 7.5],
    ['fp4_e2m1', 4, 2, 6],
    ['int8', 8, 0, 1.984375],
    ['int4', 4, 0, 1.75],
    ['int2', 2, 0, 1],
  ])('%s: %i bits, emax %i, max %d', (name, bits, emax, max) => {
    const f = elementFormat(name);
    expect(f.bits).toBe(bits);
    expect(f.emax).toBe(emax);
    expect(f.maxNormal).toBe(max);
  });

  it('FP subnormal and normal limits follow the IEEE-style definition', () => {
    const f = elementFormat('fp8_e4m3');
    if (f.kind !== 'fp') throw new Error('fp8_e4m3 must be FP');
    expect([f.bias, f.emin, f.minNormal, f.minSubnormal]).toEqual([7, -6, 2 ** -6, 2 ** -9]);
    const e5 = elementFormat('fp8_e5m2');
    if (e5.kind !== 'fp') throw new Error('fp8_e5m2 must be FP');
    expect([e5.bias, e5.emin, e5.minSubnormal]).toEqual([15, -14, 2 ** -16]);
  });

  it('the OCP E2M1 code table: codes 0..7 are 0, 0.5, 1, 1.5, 2, 3, 4, 6; 8..15 their negatives', () => {
    const t = Array.from(elementValueTable(elementFormat('fp4_e2m1')));
    expect(t.slice(0, 8)).toEqual([0, 0.5, 1, 1.5, 2, 3, 4, 6]);
    expect(t.slice(8)).toEqual([-0, -0.5, -1, -1.5, -2, -3, -4, -6]);
  });

  it('fp8 specials: E4M3 S.1111.111 is NaN, E5M2 top exponent is Inf/NaN', () => {
    const e4 = elementFormat('fp8_e4m3');
    expect(decodeElement(0x7f, e4)).toBeNaN();
    expect(decodeElement(0x7e, e4)).toBe(448);
    const e5 = elementFormat('fp8_e5m2');
    expect(decodeElement(0x7c, e5)).toBe(Infinity);
    expect(decodeElement(0x7d, e5)).toBeNaN();
    expect(decodeElement(0x7b, e5)).toBe(57344);
  });

  it('INT codes are two\'s complement of k = q·2^(N-2); microxcaling int2 is {-1, 0, 1}', () => {
    const i8 = elementFormat('int8');
    expect(encodeElement(-1.984375, i8)).toBe(0x81);
    expect(encodeElement(1.984375, i8)).toBe(0x7f);
    expect(decodeElement(0xff, i8)).toBe(-1 / 64);
    const i2 = elementFormat('int2');
    expect([0, 1, 3].map((c) => decodeElement(c, i2))).toEqual([0, 1, -1]);
    expect(negativeZeroCode(i2)).toBeUndefined();
  });

  it.each(ELEMENT_FORMAT_NAMES)('%s: every finite code decodes to a grid value that encodes back to the same code', (name) => {
    const f = ELEMENT_FORMATS[name]!;
    for (let c = 0; c < 1 << f.bits; c++) {
      const v = decodeElement(c, f);
      if (!Number.isFinite(v)) continue;
      if (f.kind === 'int' && c === 1 << (f.bits - 1)) continue; // -2^(N-1): outside the symmetric set
      expect(encodeElement(v, f)).toBe(c);
      // A grid value is a fixed point of rounding.
      expect(Object.is(quantizeElement(v, f, 'nearest'), v) || v === 0).toBe(true);
      expect(quantizeElement(v, f, 'even') === v).toBe(true);
    }
  });

  it('rounding: ties away from zero for nearest, to even for even; saturation at max', () => {
    const f = elementFormat('fp4_e2m1');
    expect(quantizeElement(2.5, f, 'nearest')).toBe(3);
    expect(quantizeElement(2.5, f, 'even')).toBe(2);
    expect(quantizeElement(-5, f, 'nearest')).toBe(-6);
    expect(quantizeElement(-5, f, 'even')).toBe(-4);
    expect(quantizeElement(0.25, f, 'nearest')).toBe(0.5);
    expect(quantizeElement(0.25, f, 'even')).toBe(0);
    expect(quantizeElement(100, f)).toBe(6);
    expect(quantizeElement(-7.9, f)).toBe(-6);
    // microxcaling's float32 floor(|x| + 0.5): the float32 just below half a step rounds up.
    const justBelowHalfStep = Math.fround(0.25 - 2 ** -27); // half of the subnormal step 0.5
    expect(quantizeElement(justBelowHalfStep, f, 'nearest')).toBe(0.5);
    expect(quantizeElement(Math.fround(0.25 - 2 ** -20), f, 'nearest')).toBe(0);
    expect(quantizeElement(NaN, f)).toBeNaN();
  });

  it.each(ELEMENT_FORMAT_NAMES)('%s: makeElementQuantizer gives exactly quantizeElement on hard values', (name) => {
    const f = ELEMENT_FORMATS[name]!;
    const values: number[] = [0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-40, 3.4e38];
    // Grid points, midpoints and their float32 neighbours, across the whole range.
    for (let c = 0; c < 1 << f.bits; c++) {
      const v = decodeElement(c, f);
      if (!Number.isFinite(v)) continue;
      for (const w of [v, v * 1.5, v + f.maxNormal / 64, v * 0.5 + 0.25 * f.maxNormal / 8]) {
        const x = Math.fround(w);
        const bits = new Uint32Array(new Float32Array([x]).buffer)[0]!;
        for (let d = -2; d <= 2; d++) values.push(new Float32Array(new Uint32Array([bits + d]).buffer)[0]!);
      }
    }
    let s = 12345;
    for (let i = 0; i < 2000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      values.push(Math.fround((s / 2 ** 32 - 0.5) * 2 ** ((i % 60) - 30)));
    }
    for (const rounding of ['nearest', 'even'] as const) {
      const fast = makeElementQuantizer(f, rounding);
      for (const v of values) {
        const a = fast(v);
        const b = quantizeElement(v, f, rounding);
        expect(Object.is(a, b) || (a === 0 && b === 0), `${name} ${rounding} ${v}: ${a} vs ${b}`).toBe(true);
      }
    }
  });

  it('encodeElement refuses values off the grid', () => {
    expect(() => encodeElement(2.5, elementFormat('fp4_e2m1'))).toThrow(RangeError);
    expect(() => encodeElement(7, elementFormat('fp4_e2m1'))).toThrow(RangeError);
  });

  it('an unknown name is an InputError that lists the valid names', () => {
    expect(() => elementFormat('fp5_e9m9')).toThrow(InputError);
    expect(() => elementFormat('fp5_e9m9')).toThrow(/fp5_e9m9.*fp8_e5m2.*fp4_e2m1.*int2/);
    expect(() => scaleFormat('e8m9')).toThrow(/e8m0, e8m1, e8m2, e8m3/);
  });

  it('scale formats: E8M0 is 8 bits, NanoMantissa scales add 1..3 bits', () => {
    expect(E8M0.bits).toBe(8);
    expect(scaleFormat('e8m2').bits).toBe(10);
  });
});

describe('shared exponent (microxcaling _shared_exponents + clamping)', () => {
  it('E = floor(log2 max) - emax', () => {
    expect(sharedExponent(6, 2)).toBe(0);
    expect(sharedExponent(7.99, 2)).toBe(0);
    expect(sharedExponent(8, 2)).toBe(1);
    expect(sharedExponent(1.5, 0)).toBe(0);
    expect(sharedExponent(2 ** -20, 8)).toBe(-28);
  });
  it('an all-zero block uses log2 of the fp32 minimum normal (-126), then clamps to -127', () => {
    expect(sharedExponent(0, 0)).toBe(-126);
    expect(sharedExponent(0, 2)).toBe(-127);
    expect(sharedExponent(1e-40, 0)).toBe(-127);
  });
  it('NaN or Inf maximum gives NaN', () => {
    expect(sharedExponent(NaN, 2)).toBeNaN();
    expect(sharedExponent(Infinity, 2)).toBeNaN();
  });
  it('float32 log2 rounding: the float32 just below 2^20 has floor(log2) 20 in torch, as in microxcaling', () => {
    const below = Math.fround(2 ** 20 * (1 - 2 ** -24));
    expect(below).toBeLessThan(2 ** 20);
    expect(sharedExponent(below, 0)).toBe(20);
    expect(sharedExponent(Math.fround(2 ** 20 * (1 - 2 ** -10)), 0)).toBe(19);
  });
});
