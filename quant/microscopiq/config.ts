/**
 * Configuration of the hardware-layout MicroScopiQ quantizer: user options,
 * their defaults and validation, and every parameter derived from them that the
 * packed format and the hardware need (field widths, shift window).
 *
 * Element formats come from quant/formats.ts (the single definition); this file
 * chooses the inlier ones, and the outlier formats are records in
 * outlier-formats.ts.
 *
 * Terms (docs/ARITHMETIC.md has the full contract):
 *  - W[N][K], groups of G consecutive inputs k with an E8M0 exponent S[n,g];
 *  - μB: B consecutive outputs n for one input k;
 *  - inlier: MX-INT-b, value q·2^(S - (b-2)), |q| <= 2^(b-1) - 1;
 *  - outlier: 2b-bit FP code (sign, exponent field e, mantissa m) split over its
 *    own slot (upper b bits) and a pruned partner slot (lower b bits); it decodes to
 *      M = (e > 0 ? 2^mbits : 0) + m,  shift = max(e, 1) + X + c,
 *      value = s · M · 2^(shift - F) · 2^(S - (b-2))
 *    where X is the μB's outlier exponent field (xbits wide, 0 if xbits = 0) and
 *    c = D0 - bias - mbits + (b-2) + F a per-configuration constant (D0 is the
 *    outlier scale offset: the outlier FP element is scaled by 2^(S + D0 + X)).
 *  - the quantizer only emits codes with 0 <= shift <= maxShift.
 */
import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';
import { DEFAULT_RECON_TOPOLOGY, RECON_TOPOLOGY_NAMES, reconTopologyModel, type ReconTopology } from '../hwmodel/recon-topologies.ts';
import { elementFormat, type FpElementFormat, type IntElementFormat, type Rounding } from '../formats.ts';
import { OUTLIER_NAMES, defaultOutlierFormat, outlierFormat, outlierFormatsForSlotBits, type OutlierName } from './outlier-formats.ts';

export { OUTLIER_NAMES, type OutlierName } from './outlier-formats.ts';
export const INLIER_NAMES = ['mxint2', 'mxint4'] as const;
export type InlierName = (typeof INLIER_NAMES)[number];
/** The ReCoN topologies: records in quant/hwmodel/recon-topologies.ts. */
export const RECON_TOPOLOGIES = RECON_TOPOLOGY_NAMES;
export type { ReconTopology } from '../hwmodel/recon-topologies.ts';
export const UBLOCK_SIZES = [4, 8, 16] as const;

/** The int element format of an inlier name (quant/formats.ts): mxint4 -> int4. */
export function inlierElement(inlier: InlierName): IntElementFormat {
  return elementFormat(inlier.slice(2)) as IntElementFormat;
}

/** Outlier formats allowed per inlier width (the outlier code must be exactly 2b bits), the default first. */
export const OUTLIERS_FOR: Readonly<Record<InlierName, readonly OutlierName[]>> = {
  mxint2: outlierFormatsForSlotBits(inlierElement('mxint2').bits).map((f) => f.name),
  mxint4: outlierFormatsForSlotBits(inlierElement('mxint4').bits).map((f) => f.name),
};

export type OutlierRule = { kind: 'stddev'; k: number } | { kind: 'top'; fraction: number };

/** What a caller may set. Everything is optional; see DEFAULTS. */
export interface MsqOptions {
  inlier?: InlierName;
  outlier?: OutlierName;
  /** G: inputs per scale group (along K). */
  groupSize?: number;
  /** B: outputs per μB (along N): 4, 8 or 16. */
  ublockSize?: number;
  recon?: ReconTopology;
  /** Outlier test: |w| > mean(|w|) + k·std(|w|) over the (n, g) group; or the top fraction of z-scores. */
  stdDev?: number;
  topFraction?: number;
  /** D0: outlier elements are scaled by 2^(S + D0 + X). */
  outlierExpOffset?: number;
  /** Width of the per-μB outlier exponent field X (0..3). */
  xbits?: number;
  /** F: guard bits below the inlier LSB in the accumulator. */
  guardBits?: number;
  /** Largest shift the ReCoN merge applies. */
  maxShift?: number;
  rounding?: Rounding;
  /**
   * Per group, also try the inlier exponent S - 1 (finer LSB, the largest inliers
   * saturate) and keep the one with the lower squared error. Default true; false
   * gives microxcaling's MX rule S = floor(log2 max|inlier|) exactly.
   */
  scaleSearch?: boolean;
  /** GPTQ damping, relative to mean(diag H). */
  damping?: number;
  /** GPTQ lazy-update block (columns); rounded up to a multiple of G. */
  gptqBlock?: number;
}

/**
 * Defaults, chosen by measurement (docs/QUALITY.md). Per inlier width the
 * outlier format, and per outlier format the offset D0 and the X field width,
 * are in its record (outlier-formats.ts). The guard bits F and the largest
 * shift follow from them (see resolveConfig).
 */
export const DEFAULTS = {
  inlier: 'mxint4' as InlierName,
  groupSize: 64,
  ublockSize: 8,
  recon: DEFAULT_RECON_TOPOLOGY,
  stdDev: 3,
  rounding: 'nearest' as Rounding,
  damping: 0.1,
  gptqBlock: 128,
} as const;

/** A fully resolved configuration with every derived parameter. */
export interface MsqConfig {
  inlier: InlierName;
  outlier: OutlierName;
  inFmt: IntElementFormat;
  outFmt: FpElementFormat;
  /** b: bits per slot. */
  b: number;
  /** Inlier fraction bits b-2: LSB = 2^(S - fracBits). */
  fracBits: number;
  /** Largest inlier magnitude in LSBs: 2^(b-1) - 1. */
  maxInt: number;
  /** L = b-1: M = hi·2^L + lo. */
  splitL: number;
  groupSize: number;
  ublockSize: number;
  /** log2(B). */
  slotBits: number;
  recon: ReconTopology;
  rule: OutlierRule;
  outlierExpOffset: number;
  xbits: number;
  guardBits: number;
  maxShift: number;
  /** c in shift = max(e,1) + X + c. */
  shiftConst: number;
  rounding: Rounding;
  scaleSearch: boolean;
  damping: number;
  gptqBlock: number;
  /** Packed record field widths (bits); the pair count is unary (docs/FORMAT.md). */
  fields: {
    /** The partner field: its topology record's width, e.g. log2 B (crossbar slot index) or ceil(log2 log2 B) (butterfly stage). */
    partner: number;
  };
}

function log2Int(x: number): number {
  return 31 - Math.clz32(x);
}

/** Resolves options into a validated configuration. Bad values are InputErrors naming the value and the allowed range. */
export function resolveConfig(opts: MsqOptions = {}): MsqConfig {
  const inlier = checkOneOf('--inlier', opts.inlier ?? DEFAULTS.inlier, INLIER_NAMES);
  const inFmt = inlierElement(inlier);
  const b = inFmt.bits;
  const outlier = checkOneOf('--outlier', opts.outlier ?? defaultOutlierFormat(b).name, OUTLIER_NAMES);
  if (!OUTLIERS_FOR[inlier].includes(outlier)) {
    throw new InputError(
      `--outlier ${outlier} does not fit --inlier ${inlier}: an outlier code spans two ${b}-bit slots, allowed outlier formats are ${OUTLIERS_FOR[inlier].join(', ')}`,
    );
  }
  const outRec = outlierFormat(outlier);
  const outFmt: FpElementFormat = outRec.element;
  const groupSize = checkIntRange('--group-size', opts.groupSize ?? DEFAULTS.groupSize, 1, 4096);
  const ublockSize = checkOneOf('--block-size', opts.ublockSize ?? DEFAULTS.ublockSize, UBLOCK_SIZES);
  const topology = reconTopologyModel(opts.recon ?? DEFAULTS.recon);
  const recon = topology.name;
  let rule: OutlierRule;
  if (opts.topFraction !== undefined) {
    if (opts.stdDev !== undefined) throw new InputError('--std-dev and --top-fraction are two outlier rules: give one of them');
    if (!(opts.topFraction >= 0 && opts.topFraction <= 0.5)) {
      throw new InputError(`--top-fraction ${opts.topFraction} is out of range: allowed numbers 0..0.5`);
    }
    rule = { kind: 'top', fraction: opts.topFraction };
  } else {
    const k = opts.stdDev ?? DEFAULTS.stdDev;
    if (!(k >= 0 && k <= 1000)) throw new InputError(`--std-dev ${k} is out of range: allowed numbers 0..1000`);
    rule = { kind: 'stddev', k };
  }
  const per = outRec.defaults;
  const outlierExpOffset = checkIntRange('--outlier-exp-offset', opts.outlierExpOffset ?? per.outlierExpOffset, -16, 16);
  const xbits = checkIntRange('--xbits', opts.xbits ?? per.xbits, 0, 3);
  const fracBits = inFmt.fracBits;
  const efTop = (1 << outFmt.ebits) - 1;
  // Default F: the fewest guard bits that keep every outlier code worth 2^S or
  // more in the window (X = 0). An outlier always exceeds the largest inlier of
  // its group, which is >= 2^S (S = floor(log2 max inlier)), so no code an
  // outlier needs is ever clamped. Codes below 2^S are outside the window.
  // Exponent field of the smallest such code: 2^(ef - bias) · 2^(S + D0) >= 2^S.
  const efNeeded = Math.min(efTop, Math.max(1, outFmt.bias - outlierExpOffset));
  const defaultGuard = Math.max(0, -(efNeeded + outlierExpOffset - outFmt.bias - outFmt.mbits + fracBits));
  const guardBits = checkIntRange('--guard-bits', opts.guardBits ?? defaultGuard, 0, 16);
  const shiftConst = outlierExpOffset - outFmt.bias - outFmt.mbits + fracBits + guardBits;
  const naturalMax = efTop + (1 << xbits) - 1 + shiftConst;
  const maxShift = checkIntRange('--max-shift', opts.maxShift ?? Math.max(0, naturalMax), 0, 31);
  // Every X must leave at least one usable exponent field in the window.
  for (let X = 0; X < 1 << xbits; X++) {
    const lo = Math.max(1, -X - shiftConst);
    const hi = Math.min(efTop, maxShift - X - shiftConst);
    if (lo > hi) {
      throw new InputError(
        `--max-shift ${maxShift} with --guard-bits ${guardBits} leaves no outlier code usable for X = ${X}: ` +
          `shifts of ${outlier} span ${1 + X + shiftConst}..${efTop + X + shiftConst}; raise --max-shift or --guard-bits`,
      );
    }
  }
  const rounding = checkOneOf('--rounding', opts.rounding ?? DEFAULTS.rounding, ['nearest', 'even'] as const);
  const damping = opts.damping ?? DEFAULTS.damping;
  if (!(damping >= 0 && damping <= 100)) throw new InputError(`--damping ${damping} is out of range: allowed numbers 0..100`);
  const gb = checkIntRange('--gptq-block', opts.gptqBlock ?? DEFAULTS.gptqBlock, 1, 65536);
  const gptqBlock = Math.ceil(gb / groupSize) * groupSize;
  const slotBits = log2Int(ublockSize);
  return {
    inlier,
    outlier,
    inFmt,
    outFmt,
    b,
    fracBits,
    maxInt: inFmt.maxInt,
    splitL: b - 1,
    groupSize,
    ublockSize,
    slotBits,
    recon,
    rule,
    outlierExpOffset,
    xbits,
    guardBits,
    maxShift,
    shiftConst,
    rounding,
    scaleSearch: opts.scaleSearch ?? true,
    damping,
    gptqBlock,
    fields: {
      partner: topology.partnerFieldBits(slotBits),
    },
  };
}
