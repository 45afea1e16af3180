/**
 * The single definition of every number format the project uses: element
 * formats (narrow floats and microxcaling-style integers) and shared-scale
 * formats (E8M0 and NxFP's NanoMantissa scales E8M1..E8M3).
 *
 * Every other part of the project (MX and NxFP quantizers, the MicroScopiQ
 * quantizer, the generator's decoders) takes its numbers from here, so a
 * format is described once.
 *
 * Conventions follow microsoft/microxcaling (the reference the MX vectors come
 * from), restated in plain fields:
 *  - FP elements: sign-magnitude, `ebits` exponent bits with bias
 *    2^(ebits-1) - 1, `mbits` stored mantissa bits, subnormals kept.
 *    Only fp8_e5m2 reserves its top exponent for Inf/NaN (IEEE style); fp8_e4m3
 *    reserves only the all-ones code (S.1111.111) for NaN; every other FP format
 *    here has no Inf/NaN at all, so its top exponent holds normal numbers.
 *    Conversion saturates at ±maxNormal.
 *  - INT elements (microxcaling's intN): sign-magnitude "1.xxx" fixed point with
 *    N-2 fraction bits, values k·2^-(N-2) for |k| ≤ 2^(N-1) - 1 (int8: ±127/64,
 *    int4: ±7/4, int2: {-1, 0, 1}). The value set is symmetric; its bit codes are
 *    two's complement (see element.ts), as OCP MXINT8 and signed-integer PEs use.
 *  - `emax` is the exponent of the largest binade, which the shared exponent
 *    puts the block maximum into: E = floor(log2 max|x|) - emax. For INT it is 0.
 */
import { InputError } from '../common/errors.ts';

export type Rounding = 'nearest' | 'even';
/** `nearest`: ties away from zero (microxcaling's default); `even`: ties to even. */
export const ROUNDINGS: readonly Rounding[] = ['nearest', 'even'];

interface ElementFormatCommon {
  /** Registry name, e.g. 'fp4_e2m1' or 'int4'. */
  readonly name: string;
  /** Bits per element code, sign included. */
  readonly bits: number;
  /** Exponent of the top binade; the shared exponent is floor(log2 max) - emax. */
  readonly emax: number;
  /** Largest finite magnitude; conversion saturates here. */
  readonly maxNormal: number;
  /** One line for help text and docs. */
  readonly description: string;
}

export interface FpElementFormat extends ElementFormatCommon {
  readonly kind: 'fp';
  readonly ebits: number;
  /** Stored mantissa (fraction) bits, without the implicit leading one. */
  readonly mbits: number;
  /** Exponent bias: 2^(ebits-1) - 1. */
  readonly bias: number;
  /** Exponent of the smallest normal binade: 1 - bias. Subnormals are 0.m·2^emin. */
  readonly emin: number;
  readonly minNormal: number;
  /** Smallest nonzero magnitude (a subnormal, or minNormal when mbits = 0). */
  readonly minSubnormal: number;
  /** Whether subnormals exist (always kept; false only when mbits = 0). */
  readonly subnormals: boolean;
  /** How the format spends codes on Inf/NaN. Conversion never produces them (it saturates). */
  readonly specials: 'none' | 'nan-only-all-ones' | 'ieee-top-exponent';
  readonly saturating: true;
}

export interface IntElementFormat extends ElementFormatCommon {
  readonly kind: 'int';
  /** Fraction bits of the "1.xxx" fixed point: bits - 2. */
  readonly fracBits: number;
  /** Largest magnitude in units of the LSB: 2^(bits-1) - 1. */
  readonly maxInt: number;
}

export type ElementFormat = FpElementFormat | IntElementFormat;

function fp(ebits: number, mbits: number, specials: FpElementFormat['specials'], description: string): FpElementFormat {
  const bias = 2 ** (ebits - 1) - 1;
  const emin = 1 - bias;
  // Top exponent field holding normal numbers: all ones unless IEEE-style Inf/NaN take it.
  const topField = specials === 'ieee-top-exponent' ? 2 ** ebits - 2 : 2 ** ebits - 1;
  const emax = topField - bias;
  // Largest mantissa at the top exponent: all ones, except when that code is NaN.
  const topMantissa = specials === 'nan-only-all-ones' ? 2 ** mbits - 2 : 2 ** mbits - 1;
  const maxNormal = 2 ** emax * (1 + topMantissa / 2 ** mbits);
  return {
    kind: 'fp',
    name: `fp${1 + ebits + mbits}_e${ebits}m${mbits}`,
    bits: 1 + ebits + mbits,
    ebits,
    mbits,
    bias,
    emin,
    emax,
    maxNormal,
    minNormal: 2 ** emin,
    minSubnormal: mbits > 0 ? 2 ** (emin - mbits) : 2 ** emin,
    subnormals: mbits > 0,
    specials,
    saturating: true,
    description,
  };
}

function int(bits: number, description: string): IntElementFormat {
  const fracBits = bits - 2;
  const maxInt = 2 ** (bits - 1) - 1;
  return { kind: 'int', name: `int${bits}`, bits, emax: 0, fracBits, maxInt, maxNormal: maxInt / 2 ** fracBits, description };
}

/** Every element format by name. Order is the order shown to users. */
export const ELEMENT_FORMATS: Readonly<Record<string, ElementFormat>> = Object.freeze(
  Object.fromEntries(
    [
      fp(5, 2, 'ieee-top-exponent', 'OCP MXFP8 E5M2 element (Inf/NaN in top exponent), max 57344'),
      fp(4, 3, 'nan-only-all-ones', 'OCP MXFP8 E4M3 element (only S.1111.111 is NaN), max 448'),
      fp(3, 4, 'none', '8-bit E3M4 (no Inf/NaN), max 31; finer 8-bit split for outliers'),
      fp(3, 2, 'none', 'OCP MXFP6 E3M2 element, max 28'),
      fp(2, 3, 'none', 'OCP MXFP6 E2M3 element, max 7.5'),
      fp(4, 1, 'none', '6-bit E4M1 (no Inf/NaN), max 384'),
      fp(1, 4, 'none', '6-bit E1M4 (no Inf/NaN), max 3.875; uniform like int6'),
      fp(2, 1, 'none', 'OCP MXFP4 E2M1 element, max 6'),
      fp(1, 2, 'none', '4-bit E1M2 (no Inf/NaN), max 3.5; uniform like int4'),
      fp(3, 0, 'none', '4-bit E3M0 (powers of two only), max 16'),
      int(8, 'microxcaling int8: sign-magnitude 1.6 fixed point, ±127/64'),
      int(4, 'microxcaling int4: sign-magnitude 1.2 fixed point, ±7/4'),
      int(2, 'microxcaling int2: {-1, 0, 1}'),
    ].map((f) => [f.name, Object.freeze(f)]),
  ),
);

export const ELEMENT_FORMAT_NAMES: readonly string[] = Object.keys(ELEMENT_FORMATS);

/** Looks an element format up by name; an unknown name is an InputError listing the valid ones. */
export function elementFormat(name: string): ElementFormat {
  const f = Object.prototype.hasOwnProperty.call(ELEMENT_FORMATS, name) ? ELEMENT_FORMATS[name] : undefined;
  if (!f) {
    throw new InputError(`unknown element format '${name}': valid names are ${ELEMENT_FORMAT_NAMES.join(', ')}`);
  }
  return f;
}

/** The FP element format with `ebits` exponent and `mbits` mantissa bits (the registry has one of each split). */
export function fpElementFormat(ebits: number, mbits: number): FpElementFormat {
  for (const f of Object.values(ELEMENT_FORMATS)) {
    if (f.kind === 'fp' && f.ebits === ebits && f.mbits === mbits) return f;
  }
  throw new Error(`internal: quant/formats.ts has no FP element format E${ebits}M${mbits}`);
}

/**
 * A shared block scale: an 8-bit biased exponent (bias 127) and `mbits`
 * mantissa bits (NxFP's NanoMantissa; 0 for the OCP E8M0 scale).
 * Value = 2^(e-127) · (1 + m/2^mbits). Exponent field 255 is NaN (for E8M0 that
 * is the code 0xFF), so exponents -127..127 are usable. No subnormals, no zero.
 */
export interface ScaleFormat {
  readonly name: string;
  readonly ebits: 8;
  readonly mbits: number;
  readonly bias: 127;
  readonly bits: number;
  readonly minExponent: -127;
  readonly maxExponent: 127;
  /** Exponent field of NaN (with any mantissa). */
  readonly nanExponentField: 255;
}

function scale(mbits: number): ScaleFormat {
  return Object.freeze({
    name: `e8m${mbits}`,
    ebits: 8,
    mbits,
    bias: 127,
    bits: 8 + mbits,
    minExponent: -127,
    maxExponent: 127,
    nanExponentField: 255,
  });
}

export const SCALE_FORMATS: Readonly<Record<string, ScaleFormat>> = Object.freeze({
  e8m0: scale(0),
  e8m1: scale(1),
  e8m2: scale(2),
  e8m3: scale(3),
});

export const E8M0: ScaleFormat = SCALE_FORMATS.e8m0!;

export function scaleFormat(name: string): ScaleFormat {
  const f = Object.prototype.hasOwnProperty.call(SCALE_FORMATS, name) ? SCALE_FORMATS[name] : undefined;
  if (!f) throw new InputError(`unknown scale format '${name}': valid names are ${Object.keys(SCALE_FORMATS).join(', ')}`);
  return f;
}

/** The scale format with `mbits` NanoMantissa bits (0..3). */
export function scaleFormatWithMantissa(mbits: number): ScaleFormat {
  return scaleFormat(`e8m${mbits}`);
}
