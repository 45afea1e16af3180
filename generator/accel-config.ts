import { InputError, checkIntRange, checkOneOf } from '../common/errors.ts';
import { ceilLog2 } from '../common/bits.ts';
import { resolveConfig, type MsqConfig, type MsqOptions } from '../quant/microscopiq/config.ts';
import type { ReconTopology } from '../quant/hwmodel/recon.ts';
import { DECODE_RATES, DEFAULT_DECODE_RATE, shiftFieldBits, type DecodeRate } from '../quant/hwmodel/decode.ts';
import { PE_ABITS_MAX, PE_ABITS_MIN, PE_WBITS } from './blocks/pe.ts';
import { UBLOCK_SIZES, type ReconConfig } from './blocks/recon-config.ts';
import { RECON_TOPOLOGY_BLOCKS, reconTopology } from './blocks/recon-topologies.ts';
import { peArrayLatency, peArrayWidths, type PeArrayConfig } from './blocks/pe-array.ts';
import { ADDER_STYLES, DEFAULT_ADDER_STYLE, adderStyleSuffix, type AdderStyle } from './blocks/fp32-common.ts';
import { postArrayExpOffset, postArrayIntWidth, postArrayTiming, type PostArrayConfig, type PostArrayTiming } from './blocks/post-array.ts';

/** What a user chooses (`msq generate` flags). */
export interface AccelOptions {
  rows: number;
  cols: number;
  wbits: number;
  abits: number;
  /** μB size B */
  ublock: number;
  /** group size G along K, a multiple of rows */
  group: number;
  recon: ReconTopology;
  /** false builds the plain MX-INT array for comparison */
  outliers: boolean;
  /** output buffer depth: M rows per pass, a power of two */
  depth: number;
  /** how the wide adders are built: prefix (Kogge-Stone, standard cells; the default) or carry (FPGA carry chains) */
  adders?: AdderStyle;
  /** records the decode unit takes per cycle: full (the default) or half (its record test registered, for FPGAs) */
  decodeRate?: DecodeRate;
}

/** The documented embedded default: 8x8, W4A8, B = 8, G = 32, crossbar. */
export const DEFAULT_ACCEL: Readonly<AccelOptions> = Object.freeze({
  rows: 8,
  cols: 8,
  wbits: 4,
  abits: 8,
  ublock: 8,
  group: 32,
  recon: RECON_TOPOLOGY_BLOCKS[0]!.name, // crossbar: the first topology of the registry
  outliers: true,
  depth: 256,
});

/**
 * The group size used when the user gives none: the default G = 32, or the
 * smallest multiple of `rows` above it when the array is taller (a K-tile must
 * not straddle two groups), e.g. 64 for a 64-row array.
 */
export function defaultGroup(rows: number): number {
  return rows > 0 ? Math.ceil(DEFAULT_ACCEL.group / rows) * rows : DEFAULT_ACCEL.group;
}

/** Everything the generator, the vector tool and the models derive from the options, in one place. */
export interface AccelConfig extends AccelOptions {
  /** the quantizer configuration the weights must be made with (outlier format, xbits, F, shift window) */
  msq: MsqConfig;
  /** ReCoN settings; null for the plain array */
  reconCfg: ReconConfig | null;
  array: PeArrayConfig;
  /** widths: product, lane, column sum, within-group accumulator */
  widths: { PW: number; LW: number; ACCW: number; INTW: number; CFGW: number };
  /** the post-array unit's configuration (its widths and depth) */
  post: PostArrayConfig;
  /** pipeline latencies: PE array (beat to column sums), post-array unit (latency, least same-row distance) */
  timing: { array: number; post: PostArrayTiming };
  /** E = S_w + S_x - eoff: 254 + (b-2) + F + (a-2) */
  exponentOffset: number;
}

/**
 * Validates the options (every refusal names the value and the allowed range,
 * before anything is written) and derives the full configuration.
 */
export function resolveAccelConfig(o: AccelOptions): AccelConfig {
  checkIntRange('--rows', o.rows, 2, 64);
  checkIntRange('--cols', o.cols, 1, 64);
  checkOneOf('--wbits', o.wbits, PE_WBITS);
  checkIntRange('--abits', o.abits, PE_ABITS_MIN, PE_ABITS_MAX);
  checkOneOf('--ublock', o.ublock, UBLOCK_SIZES);
  reconTopology(o.recon);
  checkIntRange('--depth', o.depth, 1, 4096);
  if ((o.depth & (o.depth - 1)) !== 0) throw new InputError(`--depth ${o.depth} is not a power of two`);
  const adders = checkOneOf('--adders', o.adders ?? DEFAULT_ADDER_STYLE, ADDER_STYLES);
  const decodeRate = checkOneOf('--decode-rate', o.decodeRate ?? DEFAULT_DECODE_RATE, DECODE_RATES);
  if (o.cols % o.ublock !== 0) {
    throw new InputError(`--cols ${o.cols} is not a multiple of --ublock ${o.ublock}: each row of the array holds whole μBs`);
  }
  checkIntRange('--group', o.group, o.rows, 4096);
  if (o.group % o.rows !== 0) throw new InputError(`--group ${o.group} is not a multiple of --rows ${o.rows}: a K-tile must not straddle two groups`);
  const msq = resolveConfig(accelQuantizerOptions(o));
  const guardBits = o.outliers ? msq.guardBits : 0;
  const reconCfg: ReconConfig | null = o.outliers
    ? { lanes: o.ublock, wbits: o.wbits, abits: o.abits, guardBits, shiftBits: shiftFieldBits(msq.maxShift, guardBits), topology: o.recon }
    : null;
  const array: PeArrayConfig = { rows: o.rows, cols: o.cols, wbits: o.wbits, abits: o.abits, recon: reconCfg };
  const w = peArrayWidths(array);
  const INTW = postArrayIntWidth(w.ACCW, o.group, o.rows);
  // The int->fp32 unit is exact for |value| < 2^53 (docs/POST_ARRAY_ARITHMETIC.md).
  if (INTW > 53) throw new InputError(`this configuration needs a ${INTW}-bit group accumulator; at most 53 bits are supported: lower --group or --rows`);
  const exponentOffset = postArrayExpOffset(o.wbits, o.abits, guardBits);
  const post: PostArrayConfig = { cols: o.cols, accWidth: w.ACCW, intWidth: INTW, depth: o.depth, expOffset: exponentOffset, adders };
  const timing = { array: peArrayLatency(array), post: postArrayTiming(post) };
  return {
    ...o,
    adders,
    decodeRate,
    msq,
    reconCfg,
    array,
    widths: { PW: w.PW, LW: w.LW, ACCW: w.ACCW, INTW, CFGW: w.CFGW },
    post,
    timing,
    exponentOffset,
  };
}

/**
 * The quantizer options that make weights for this hardware: the same b, G,
 * B and topology; the plain array takes MX-INT-b weights (no outliers, F = 0).
 */
export function accelQuantizerOptions(o: AccelOptions): MsqOptions {
  const base: MsqOptions = { inlier: o.wbits === 2 ? 'mxint2' : 'mxint4', groupSize: o.group, ublockSize: o.ublock, recon: o.recon };
  return o.outliers ? base : { ...base, topFraction: 0, guardBits: 0 };
}

/** Name of the top module: every structural choice is in it. */
export function accelTopName(c: AccelOptions): string {
  const outl = c.outliers ? `${reconTopology(c.recon).tag}_b${c.ublock}` : 'plain';
  return `msq_accel_r${c.rows}c${c.cols}_w${c.wbits}a${c.abits}_g${c.group}_${outl}_d${c.depth}${adderStyleSuffix(c.adders)}${(c.decodeRate ?? DEFAULT_DECODE_RATE) === 'half' ? '_h2' : ''}`;
}
