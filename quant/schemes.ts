/**
 * The format-dispatch table behind `msq quantize --format NAME` and the rows of
 * `msq compare`. A scheme family (MX, NxFP, later MicroScopiQ) lists the
 * format names it handles, the extra flags it accepts, how it reads "+token"
 * suffixes in compare specs, and how it quantizes.
 *
 * To add a family: implement SchemeFamily (e.g. in quant/<family>/scheme.ts)
 * and append it to SCHEME_FAMILIES below. The CLI picks up its format names,
 * its flags (with their help text) and its compare tokens from here.
 */
import { InputError } from '../common/errors.ts';
import { ELEMENT_FORMAT_NAMES, elementFormat, type Rounding } from './formats.ts';
import { mxEncode, nanScaleCount, quantizeMxWithScales } from './mx.ts';
import { nxfpConfig, nxfpEffectiveBits, nxfpEncode, nxfpNanBlockCount, NXFP_FAMILY_NAMES, NXFP_FAMILIES, type NxfpFamily } from './nxfp.ts';
import { packMx, packNxfp } from './pack.ts';
import { microscopiqFamily } from './microscopiq/scheme.ts';

export interface QuantizeRequest {
  data: Float32Array;
  shape: readonly number[];
  blockSize?: number;
  axis?: number;
  rounding?: Rounding;
  /** Activations X [M, K] when the caller has them (msq compare --activations); MicroScopiQ's +cal calibrates on them. */
  activations?: { data: Float32Array; shape: readonly number[] };
  /** Family-specific options, keyed by SchemeOption.key, already parsed. */
  options: Readonly<Record<string, unknown>>;
}

export interface QuantizeOutcome {
  /** The dequantized tensor, C order, the input's shape. */
  values: Float32Array;
  /** Effective bits per element, all metadata (scales, selectors, ...) counted. */
  ebw: number;
  /** Short name of the configuration, e.g. "nxfp4+nm2+am". */
  label: string;
  /** The packed bit layout (docs/NUMERICS.md), when the scheme has one. */
  pack?: () => Uint8Array;
  /** One line of scheme-specific statistics for the CLI to print (e.g. MicroScopiQ outlier counts). */
  notes?: string;
  /** Set when some blocks held NaN or ±Inf (and so came out NaN); absent when every block was finite. */
  nonFinite?: NonFiniteBlocks;
}

/** Blocks of a quantized tensor that held NaN or ±Inf. */
export interface NonFiniteBlocks {
  /** Blocks holding NaN or ±Inf (at least 1). */
  blocks: number;
  /** All blocks of the tensor. */
  blockCount: number;
  /** What the format did with them, e.g. OCP_MX_NAN_RULE. */
  rule: string;
}

/** What MX and NxFP do with a block holding NaN or ±Inf (docs/NUMERICS.md, "NaN and Inf rule"). */
export const OCP_MX_NAN_RULE = 'their scale is NaN (OCP MX rule) and all their elements are NaN';

function nonFinite(blocks: number, blockCount: number, rule = OCP_MX_NAN_RULE): NonFiniteBlocks | undefined {
  return blocks > 0 ? { blocks, blockCount, rule } : undefined;
}

export interface SchemeOption {
  /** Commander flag syntax, e.g. '--nano-mantissa <bits>' or '--code-recycling'. */
  flags: string;
  /** The option's attribute name as commander derives it (camelCase), e.g. 'nanoMantissa'. */
  key: string;
  description: string;
  /** Parses the flag's string value (flags without a value are booleans). */
  parse?: (value: string) => unknown;
}

export interface SchemeFamily {
  id: string;
  /** Names accepted by --format, in the order shown to users. */
  formats: readonly string[];
  /** One line per format for help text. */
  describe(format: string): string;
  /** Flags only this family accepts. */
  options: readonly SchemeOption[];
  /** Turns the "+token" suffixes of a compare spec into options (unknown token: InputError). */
  parseSpecTokens(format: string, tokens: readonly string[]): Record<string, unknown>;
  /**
   * Why this format cannot take the tensor of `req` with the flags as given
   * (its shape, or its values), as a clause for `msq compare` to print when it
   * skips the format; undefined when it can. quantize() still refuses such a
   * tensor itself, with a message that names the flags to change.
   */
  unsupported?(format: string, req: QuantizeRequest): string | undefined;
  /** Why this configuration has no packed layout (for --packed, checked before the input is read); undefined when it has one. */
  noPackedLayout?(format: string, options: Readonly<Record<string, unknown>>): string | undefined;
  quantize(format: string, req: QuantizeRequest): QuantizeOutcome;
}

/**
 * MX and NxFP take any tensor with at least one axis; the one thing a tensor's
 * shape can refuse is the default block size (32) when its axis is shorter.
 * Explicit --block-size / --axis values are the user's: quantize() refuses them.
 */
function blockedUnsupported(req: QuantizeRequest): string | undefined {
  const rank = req.shape.length;
  if (rank === 0) return 'a scalar (0-d array) cannot be cut into blocks';
  let axis = req.axis ?? -1;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) return undefined;
  if (axis < 0) axis += rank;
  const len = req.shape[axis]!;
  if (req.blockSize === undefined && len > 0 && len < 32) {
    return `its default block size 32 does not fit axis ${axis} of [${req.shape.join(', ')}] (${len} elements); give --block-size ${len} or less`;
  }
  return undefined;
}

function parseIntFlag(flag: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new InputError(`${flag} ${v} is not an integer`);
    return Number(v);
  };
}

// ---------------------------------------------------------------- MX

/** --format name -> element format: mxfp4_e2m1 -> fp4_e2m1, mxint8 -> int8. */
const MX_FORMATS: readonly string[] = (() => {
  const standard = ['mxfp8_e5m2', 'mxfp8_e4m3', 'mxfp6_e3m2', 'mxfp6_e2m3', 'mxfp4_e2m1', 'mxint8', 'mxint4', 'mxint2'];
  const extra = ELEMENT_FORMAT_NAMES.map((n) => `mx${n}`).filter((n) => !standard.includes(n));
  return [...standard, ...extra];
})();

const mxFamily: SchemeFamily = {
  id: 'mx',
  formats: MX_FORMATS,
  describe: (f) => `MX with ${f.slice(2)} elements and an E8M0 scale per block (bit-exact with microxcaling)`,
  options: [],
  parseSpecTokens(format, tokens) {
    if (tokens.length > 0) throw new InputError(`${format} takes no +options (got +${tokens.join('+')})`);
    return {};
  },
  unsupported: (_format, req) => blockedUnsupported(req),
  quantize(format, req) {
    const opts = { format: format.slice(2), blockSize: req.blockSize, axis: req.axis, rounding: req.rounding };
    const { values, scaleCodes } = quantizeMxWithScales(req.data, req.shape, opts);
    const blockSize = req.blockSize ?? 32;
    const elementBits = elementFormat(opts.format).bits;
    return {
      values,
      ebw: elementBits + 8 / blockSize,
      label: format,
      pack: () => packMx(mxEncode(req.data, req.shape, opts)),
      nonFinite: nonFinite(nanScaleCount(scaleCodes), scaleCodes.length),
    };
  },
};

// ---------------------------------------------------------------- NxFP

const nxfpFamily: SchemeFamily = {
  id: 'nxfp',
  formats: NXFP_FAMILY_NAMES,
  describe: (f) =>
    `NxFP ${f.slice(4)}-bit (default element ${NXFP_FAMILIES[f as NxfpFamily][0]}; with --adaptive-microexponent: ${NXFP_FAMILIES[f as NxfpFamily].join(', ')})`,
  options: [
    {
      flags: '--nano-mantissa <bits>',
      key: 'nanoMantissa',
      description: 'NxFP NanoMantissa: mantissa bits of the block scale, 0 (E8M0) to 3 (E8M3); default 0',
      parse: parseIntFlag('--nano-mantissa'),
    },
    {
      flags: '--adaptive-microexponent',
      key: 'adaptiveMicroexponent',
      description: 'NxFP Adaptive Microexponent: each block picks the best same-width element format (selector bits counted in EBW)',
    },
    {
      flags: '--code-recycling',
      key: 'codeRecycling',
      description: 'NxFP Code Recycling: the -0 code stands for -(L1+L2)/2, midway between the two largest magnitudes (E2M1: -5)',
    },
  ],
  parseSpecTokens(format, tokens) {
    const out: Record<string, unknown> = {};
    for (const t of tokens) {
      const nm = /^nm([0-3])$/.exec(t);
      if (nm) out.nanoMantissa = Number(nm[1]);
      else if (t === 'am') out.adaptiveMicroexponent = true;
      else if (t === 'cr') out.codeRecycling = true;
      else throw new InputError(`${format}+${t}: unknown option '${t}': allowed are nm0..nm3 (NanoMantissa bits), am (Adaptive Microexponent), cr (Code Recycling)`);
    }
    return out;
  },
  unsupported: (_format, req) => blockedUnsupported(req),
  quantize(format, req) {
    const opts = {
      family: format as NxfpFamily,
      blockSize: req.blockSize,
      axis: req.axis,
      rounding: req.rounding,
      nanoMantissa: req.options.nanoMantissa as number | undefined,
      adaptiveMicroexponent: Boolean(req.options.adaptiveMicroexponent),
      codeRecycling: Boolean(req.options.codeRecycling),
    };
    const config = nxfpConfig(opts);
    const enc = nxfpEncode(req.data, req.shape, opts);
    const label =
      format +
      (config.nanoMantissa ? `+nm${config.nanoMantissa}` : '') +
      (config.adaptiveMicroexponent ? '+am' : '') +
      (config.codeRecycling ? '+cr' : '');
    return {
      values: enc.values,
      ebw: nxfpEffectiveBits(config),
      label,
      pack: () => packNxfp(enc),
      nonFinite: nonFinite(nxfpNanBlockCount(enc), enc.scaleCodes.length),
    };
  },
};

// ---------------------------------------------------------------- registry

/** Every family, in the order formats are listed to users. Append new families here. */
export const SCHEME_FAMILIES: SchemeFamily[] = [mxFamily, nxfpFamily, microscopiqFamily];

export function allFormatNames(): string[] {
  return SCHEME_FAMILIES.flatMap((f) => [...f.formats]);
}

/** The family that handles `format`; an unknown name is an InputError listing the valid ones. */
export function familyOf(format: string): SchemeFamily {
  const fam = SCHEME_FAMILIES.find((f) => f.formats.includes(format));
  if (!fam) throw new InputError(`unknown format '${format}': valid formats are ${allFormatNames().join(', ')}`);
  return fam;
}

export interface FormatSpec {
  format: string;
  family: SchemeFamily;
  options: Record<string, unknown>;
}

/** Parses a compare spec "NAME[+token...]", e.g. "nxfp4+nm2+am+cr". */
export function parseFormatSpec(spec: string): FormatSpec {
  const [format, ...tokens] = spec.trim().split('+');
  const family = familyOf(format!);
  return { format: format!, family, options: family.parseSpecTokens(format!, tokens) };
}

export function quantizeWith(format: string, req: QuantizeRequest): QuantizeOutcome {
  return familyOf(format).quantize(format, req);
}
