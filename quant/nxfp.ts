/**
 * NxFP (Lo, Wei, Brooks, arXiv 2412.19821): MX-style block formats with three
 * switchable, combinable techniques. Our concrete choices (docs/NUMERICS.md):
 *
 * NanoMantissa (nanoMantissa = m, 1..3): the block scale is E8Mm,
 * s = 2^(e-127)·(1 + j/2^m), instead of a power of two. The scale is searched
 * among a few candidates around the ideal s* = max|x| / maxNormal: the
 * representable scales just below and just above s*, the next one above, and
 * always the plain MX scale 2^E (E = floor(log2 max) - emax). The candidate with
 * the lowest block squared error wins (ties: the MX scale, then the smaller
 * scale). So NanoMantissa can only lower a block's error compared with MX.
 *
 * Adaptive Microexponent: each block picks among same-width element formats
 * (FAMILIES below; the first is the default) the one with the lowest squared
 * error (ties: earlier in the list). The choice is stored in
 * ceil(log2(#formats)) selector bits per block.
 *
 * Code Recycling: FP codes are sign-magnitude, so the code "sign bit alone" is
 * a second zero. We make it mean -(L1 + L2)/2, the midpoint between the two
 * largest magnitudes L1 > L2 (for E2M1: -5, filling the widest gap, 4..6, at the
 * top of the grid where the block maximum lands). An element takes it when it
 * is strictly closer than the ordinary rounding result; a negative value that
 * rounds to zero is then stored as +0.
 *
 * Arithmetic: x = fl32(v / s), element rounding exactly as MX (element.ts),
 * dequantized value fl32(q · s). With no technique switched on, nxfpN is
 * bit-identical to the MX format of its default element (tested).
 *
 * NaN/Inf: as MX (the OCP MX rule), a block holding NaN or ±Inf gets the NaN
 * scale (exponent field 255, mantissa bits 0) and all its elements are NaN
 * (codes 0, selector 0); nxfpNanBlockCount counts such blocks.
 */
import { InputError, checkIntRange, checkOneOf } from '../common/errors.ts';
import { elementFormat, scaleFormatWithMantissa, type ElementFormat, type Rounding, type ScaleFormat } from './formats.ts';
import { makeElementQuantizer, encodeElement, decodeElement } from './element.ts';
import { blockGeometry, type BlockGeometry } from './blocks.ts';
import { sharedExponent } from './shared-exponent.ts';

/** Element-format candidates per width; the first one is the default (no Adaptive Microexponent). */
export const NXFP_FAMILIES = {
  nxfp4: ['fp4_e2m1', 'fp4_e1m2', 'fp4_e3m0'],
  nxfp6: ['fp6_e2m3', 'fp6_e3m2', 'fp6_e1m4', 'fp6_e4m1'],
  nxfp8: ['fp8_e4m3', 'fp8_e5m2', 'fp8_e3m4'],
} as const satisfies Record<string, readonly string[]>;

export type NxfpFamily = keyof typeof NXFP_FAMILIES;
export const NXFP_FAMILY_NAMES = Object.keys(NXFP_FAMILIES) as NxfpFamily[];

export interface NxfpOptions {
  family: NxfpFamily;
  blockSize?: number;
  axis?: number;
  rounding?: Rounding;
  /** NanoMantissa bits of the scale, 0 (plain E8M0) .. 3. */
  nanoMantissa?: number;
  adaptiveMicroexponent?: boolean;
  codeRecycling?: boolean;
}

/** Options with every default filled in. */
export interface NxfpConfig {
  family: NxfpFamily;
  blockSize: number;
  axis: number;
  rounding: Rounding;
  nanoMantissa: number;
  adaptiveMicroexponent: boolean;
  codeRecycling: boolean;
  /** Element formats a block may use (one unless Adaptive Microexponent). */
  formats: ElementFormat[];
  scale: ScaleFormat;
  selectorBits: number;
  elementBits: number;
}

export function nxfpConfig(opts: NxfpOptions): NxfpConfig {
  const family = checkOneOf('NxFP format', opts.family, NXFP_FAMILY_NAMES);
  const nanoMantissa = checkIntRange('--nano-mantissa', opts.nanoMantissa ?? 0, 0, 3);
  const am = opts.adaptiveMicroexponent ?? false;
  const names = am ? [...NXFP_FAMILIES[family]] : [NXFP_FAMILIES[family][0]];
  const formats = names.map((n) => elementFormat(n));
  return {
    family,
    blockSize: opts.blockSize ?? 32,
    axis: opts.axis ?? -1,
    rounding: checkOneOf('--rounding', opts.rounding ?? 'nearest', ['nearest', 'even'] as Rounding[]),
    nanoMantissa,
    adaptiveMicroexponent: am,
    codeRecycling: opts.codeRecycling ?? false,
    formats,
    scale: scaleFormatWithMantissa(nanoMantissa),
    selectorBits: formats.length > 1 ? Math.ceil(Math.log2(formats.length)) : 0,
    elementBits: formats[0]!.bits,
  };
}

/**
 * Effective bits per element: element bits + (scale bits + selector bits) / blockSize.
 * Byte padding of packed blocks is not counted (it vanishes for the usual sizes).
 */
export function nxfpEffectiveBits(c: NxfpConfig): number {
  return c.elementBits + (c.scale.bits + c.selectorBits) / c.blockSize;
}

/** The value Code Recycling gives the -0 code of `fmt`: -(L1 + L2) / 2. */
export function recycledValue(fmt: ElementFormat): number {
  if (fmt.kind !== 'fp') throw new InputError(`code recycling needs a sign-magnitude FP element format, not ${fmt.name}`);
  const top = encodeElement(fmt.maxNormal, fmt);
  const second = decodeElement(top - 1, fmt);
  return -(fmt.maxNormal + second) / 2;
}

export interface NxfpEncoded {
  config: NxfpConfig;
  geometry: BlockGeometry;
  /** Per block: scale code (exponent field << m) | mantissa; NaN scale = 255 << m. */
  scaleCodes: Uint16Array;
  /** Per block: index into config.formats. */
  selectors: Uint8Array;
  /** Element codes in the tensor's C order. */
  codes: Uint8Array;
  values: Float32Array;
}

/** Value of a scale code (NaN for exponent field 255). */
export function scaleValue(code: number, m: number): number {
  const field = code >> m;
  if (field === 255) return NaN;
  return 2 ** (field - 127) * (1 + (code & ((1 << m) - 1)) / 2 ** m);
}

/** Code of a grid value by table lookup (±0 told apart by sign). */
function gridEncoder(fmt: ElementFormat): (q: number) => number {
  const table = new Map<number, number>();
  for (let code = 0; code < 1 << fmt.bits; code++) {
    const v = decodeElement(code, fmt);
    if (Number.isFinite(v) && v !== 0 && !table.has(v)) table.set(v, code);
  }
  const negZero = fmt.kind === 'fp' ? 1 << (fmt.bits - 1) : 0;
  return (q: number): number => {
    if (q === 0) return Object.is(q, -0) ? negZero : 0;
    const c = table.get(q);
    return c !== undefined ? c : encodeElement(q, fmt); // encodeElement throws for an off-grid value
  };
}

/** Scale candidates (as codes) for a block maximum; the MX scale comes first. */
function scaleCandidates(maxAbs: number, fmt: ElementFormat, m: number): number[] {
  const e = sharedExponent(maxAbs, fmt.emax);
  const out = [(e + 127) << m];
  if (m === 0 || maxAbs === 0) return out;
  const ideal = maxAbs / fmt.maxNormal;
  // Largest representable scale <= ideal, then the next two above it.
  let ex = Math.floor(Math.log2(ideal));
  if (2 ** ex > ideal) ex -= 1; // guard against log2 rounding
  if (2 ** (ex + 1) <= ideal) ex += 1;
  const j = Math.floor((ideal / 2 ** ex - 1) * 2 ** m);
  let code = ((ex + 127) << m) + j;
  for (let k = 0; k < 3; k++, code++) {
    // code + 1 is the next representable scale: a mantissa carry moves into the exponent.
    const field = code >> m;
    if (code >= 0 && field <= 254 && !out.includes(code)) out.push(code);
  }
  return out;
}

/**
 * Quantizes one block (gathered into `v`) with one element format and one
 * scale; writes the element values (before scaling) into `q` and returns the
 * squared error of the dequantized block.
 */
function quantizeBlock(
  v: Float32Array,
  count: number,
  round: (x: number) => number,
  scale: number,
  recycled: number | undefined,
  q: Float64Array,
): number {
  let err = 0;
  for (let i = 0; i < count; i++) {
    const x = Math.fround(v[i]! / scale);
    let e = round(x);
    if (recycled !== undefined) {
      if (Math.abs(x - recycled) < Math.abs(x - e)) e = recycled;
      else if (e === 0) e = 0; // a -0 would collide with the recycled code
    }
    q[i] = e;
    const d = Math.fround(e * scale) - v[i]!;
    err += d * d;
  }
  return err;
}

export function nxfpEncode(data: Float32Array, shape: readonly number[], opts: NxfpOptions): NxfpEncoded {
  const c = nxfpConfig(opts);
  const g = blockGeometry(shape, c.axis, c.blockSize);
  if (data.length !== g.size) throw new RangeError(`data has ${data.length} values, shape [${shape.join(', ')}] needs ${g.size}`);
  const m = c.nanoMantissa;
  const scaleCodes = new Uint16Array(g.blockCount);
  const selectors = new Uint8Array(g.blockCount);
  const codes = new Uint8Array(g.size);
  const values = new Float32Array(g.size);
  const k = c.blockSize;
  const block = new Float32Array(k);
  const tryQ = new Float64Array(k);
  const bestQ = new Float64Array(k);
  const recycled = c.formats.map((f) => (c.codeRecycling ? recycledValue(f) : undefined));
  const rounders = c.formats.map((f) => makeElementQuantizer(f, c.rounding));
  const encoders = c.formats.map((f) => gridEncoder(f));
  const { outer, len, inner, nBlocks } = g;
  for (let o = 0; o < outer; o++) {
    for (let b = 0; b < nBlocks; b++) {
      const i0 = b * k;
      const count = Math.min(k, len - i0);
      for (let n = 0; n < inner; n++) {
        // Gather the block (stride `inner` along the axis).
        let maxAbs = 0;
        let special = false;
        for (let j = 0; j < count; j++) {
          const x = data[(o * len + i0 + j) * inner + n]!;
          block[j] = x;
          const a = Math.abs(x);
          if (!(a <= 3.4028234663852886e38)) special = true;
          else if (a > maxAbs) maxAbs = a;
        }
        const blockIndex = (o * nBlocks + b) * inner + n;
        if (special) {
          scaleCodes[blockIndex] = 255 << m;
          selectors[blockIndex] = 0;
          for (let j = 0; j < count; j++) values[(o * len + i0 + j) * inner + n] = NaN;
          continue;
        }
        let bestErr = Infinity;
        let bestScale = -1; // -1: nothing tried yet (an error can itself overflow to Infinity)
        let bestSel = 0;
        for (let f = 0; f < c.formats.length; f++) {
          const fmt = c.formats[f]!;
          for (const sc of scaleCandidates(maxAbs, fmt, m)) {
            const err = quantizeBlock(block, count, rounders[f]!, scaleValue(sc, m), recycled[f], tryQ);
            if (err < bestErr || bestScale < 0) {
              bestErr = err;
              bestScale = sc;
              bestSel = f;
              bestQ.set(tryQ);
            }
          }
        }
        scaleCodes[blockIndex] = bestScale;
        selectors[blockIndex] = bestSel;
        const fmt = c.formats[bestSel]!;
        const s = scaleValue(bestScale, m);
        const rv = recycled[bestSel];
        for (let j = 0; j < count; j++) {
          const idx = (o * len + i0 + j) * inner + n;
          const q = bestQ[j]!;
          codes[idx] = rv !== undefined && q === rv ? 1 << (fmt.bits - 1) : encoders[bestSel]!(q);
          values[idx] = Math.fround(q * s);
        }
      }
    }
  }
  return { config: c, geometry: g, scaleCodes, selectors, codes, values };
}

/** Blocks with the NaN scale (exponent field 255): those holding NaN or ±Inf, all of whose elements are NaN. */
export function nxfpNanBlockCount(enc: Pick<NxfpEncoded, 'config' | 'scaleCodes'>): number {
  const m = enc.config.nanoMantissa;
  let n = 0;
  for (let b = 0; b < enc.scaleCodes.length; b++) if (enc.scaleCodes[b]! >> m === 255) n++;
  return n;
}

/** NxFP fake quantization: the dequantized tensor. */
export function quantizeNxfp(data: Float32Array, shape: readonly number[], opts: NxfpOptions): Float32Array {
  return nxfpEncode(data, shape, opts).values;
}

/** Decodes NxFP scale codes, selectors and element codes back to float32 values. */
export function nxfpDecode(
  config: NxfpConfig,
  g: BlockGeometry,
  scaleCodes: Uint16Array,
  selectors: Uint8Array,
  codes: Uint8Array,
): Float32Array {
  const m = config.nanoMantissa;
  const tables = config.formats.map((fmt) => {
    const t = new Float64Array(1 << fmt.bits);
    for (let code = 0; code < t.length; code++) t[code] = decodeElement(code, fmt);
    if (config.codeRecycling) t[1 << (fmt.bits - 1)] = recycledValue(fmt);
    return t;
  });
  const out = new Float32Array(g.size);
  const { outer, len, inner, nBlocks, blockSize } = g;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < len; i++) {
      const b = (i / blockSize) | 0;
      for (let n = 0; n < inner; n++) {
        const bi = (o * nBlocks + b) * inner + n;
        const idx = (o * len + i) * inner + n;
        const s = scaleValue(scaleCodes[bi]!, m);
        const sel = selectors[bi]!;
        if (s !== s || sel >= tables.length) {
          out[idx] = NaN;
          continue;
        }
        out[idx] = Math.fround(tables[sel]![codes[idx]!]! * s);
      }
    }
  }
  return out;
}
