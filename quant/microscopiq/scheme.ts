/**
 * The MicroScopiQ family of the format-dispatch table (quant/schemes.ts):
 * `msq quantize --format microscopiq ...` and `microscopiq+...` rows of
 * `msq compare`.
 *
 * Hardware layout (default): W is a 2-d matrix; --axis names the OUTPUT axis,
 * along which μBs of --block-size B outputs run (default 0: W[out, in], as in
 * the official code); groups of --group-size G run along the other (input) axis.
 * With --axis 1 the matrix is read as W[in, out] (transposed in and out).
 *
 * --compat official: the official direct-cast fake quantizer, bit-exact
 * (official.ts): any tensor, blocks of --block-size (default 16) along --axis
 * (default 0), --std-dev default 2, inlier/outlier formats from --inlier/--outlier
 * (defaults mxint2 and the official code's default outlier format of that width,
 * outlier-formats.ts). It is fake quantization and has no packed layout
 * (--packed is refused before the input is read). Like
 * the official code it lets NaN through: a block holding NaN or ±Inf gets a NaN
 * inlier scale and comes out all NaN (reported as nonFinite). The hardware
 * layout refuses non-finite weights instead.
 *
 * Compare tokens: w2 | w4 (inlier width), the spec tag of a ReCoN topology
 * (bf | xb: butterfly / crossbar, quant/hwmodel/recon-topologies.ts; a label
 * shows it when it is not the default),
 * cal (Hessian mode calibrated on compare's --activations: in-sample),
 * official (compat mode), g<G>, b<B>, sd<k>, x<xbits>, and the spec tag of an
 * outlier format (outlier-formats.ts; a label shows it when it is not the default).
 */
import { InputError } from '../../common/errors.ts';
import type { NonFiniteBlocks, QuantizeOutcome, QuantizeRequest, SchemeFamily, SchemeOption } from '../schemes.ts';
import { loadTensor } from '../tensor-input.ts';
import { DEFAULT_RECON_TOPOLOGY, RECON_TOPOLOGY_MODELS, reconTopologyBySpecTag, reconTopologyModel } from '../hwmodel/recon-topologies.ts';
import { INLIER_NAMES, RECON_TOPOLOGIES, inlierElement, type InlierName, type ReconTopology } from './config.ts';
import {
  OUTLIER_FORMATS, OUTLIER_NAMES, OUTLIER_SPEC_TAGS, defaultOutlierFormat, findOutlierFormat, officialDefaultOutlierFormat, outlierFormat, outlierFormatByTag,
  type OutlierName,
} from './outlier-formats.ts';
import { quantizeMicroScopiQ, type QuantizeOptions } from './quantizer.ts';
import { dequantize } from './layer.ts';
import { encodePacked } from './packed.ts';
import { effectiveBits } from './ebw.ts';
import { quantizeOfficial } from './official.ts';

function num(flag: string, integer: boolean) {
  return (v: string): number => {
    const t = v.trim();
    const ok = integer ? /^-?\d+$/.test(t) : /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(t);
    if (!ok) throw new InputError(`${flag} ${JSON.stringify(v)} is not ${integer ? 'an integer' : 'a number'}`);
    return Number(t);
  };
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new InputError(`${flag} ${v} is not supported: allowed values are ${allowed.join(', ')}`);
    return v as T;
  };
}

const OPTIONS: readonly SchemeOption[] = [
  { flags: '--inlier <format>', key: 'inlier', description: `MicroScopiQ inlier format: ${INLIER_NAMES.join(' | ')} (default mxint4; official compat: mxint2)`, parse: oneOf('--inlier', INLIER_NAMES) },
  { flags: '--outlier <format>', key: 'outlier', description: `MicroScopiQ outlier format: ${OUTLIER_NAMES.join(' | ')} (default ${INLIER_NAMES.map((i) => `${defaultOutlierFormat(inlierElement(i).bits).name} for ${i}`).join(', ')})`, parse: oneOf('--outlier', OUTLIER_NAMES) },
  { flags: '--std-dev <k>', key: 'stdDev', description: 'MicroScopiQ outlier test |w| > mean + k·std of |w| per group (default 3; official compat: 2)', parse: num('--std-dev', false) },
  { flags: '--top-fraction <f>', key: 'topFraction', description: 'MicroScopiQ alternative outlier rule: the top fraction f of per-group z-scores', parse: num('--top-fraction', false) },
  { flags: '--group-size <G>', key: 'groupSize', description: 'MicroScopiQ inputs per E8M0 scale group, along K (default 64)', parse: num('--group-size', true) },
  { flags: '--recon <topology>', key: 'recon', description: `MicroScopiQ ReCoN topology the pairing must suit: ${RECON_TOPOLOGIES.join(' | ')} (default ${DEFAULT_RECON_TOPOLOGY})`, parse: oneOf('--recon', RECON_TOPOLOGIES) },
  { flags: '--xbits <n>', key: 'xbits', description: `MicroScopiQ width of the per-μB outlier exponent field X, 0..3 (default: ${OUTLIER_FORMATS.filter((f) => f.isDefault).map((f) => `${f.defaults.xbits} for W${f.slotBits} (${f.name})`).join(', ')})`, parse: num('--xbits', true) },
  { flags: '--guard-bits <F>', key: 'guardBits', description: 'MicroScopiQ accumulator guard bits below the inlier LSB (default: derived, see docs/ARITHMETIC.md)', parse: num('--guard-bits', true) },
  { flags: '--max-shift <n>', key: 'maxShift', description: 'MicroScopiQ largest ReCoN merge shift (default: derived)', parse: num('--max-shift', true) },
  { flags: '--outlier-exp-offset <D0>', key: 'outlierExpOffset', description: `MicroScopiQ outlier scale offset: outliers are scaled by 2^(S + D0 + X) (default: ${OUTLIER_FORMATS.map((f) => `${f.defaults.outlierExpOffset} for ${f.name}`).join(', ')})`, parse: num('--outlier-exp-offset', true) },
  { flags: '--calibration <file>', key: 'calibration', description: 'MicroScopiQ Hessian mode: calibration activations X [M, K] (.npy or FILE.safetensors:NAME)' },
  { flags: '--damping <p>', key: 'damping', description: 'MicroScopiQ Hessian damping added to diag H, as a fraction of mean(diag H), 0..100 (default 0.1; raised ×10 while H + damping is not positive definite)', parse: num('--damping', false) },
  { flags: '--plain-mx-scale', key: 'plainMxScale', description: 'MicroScopiQ: use the plain MX inlier exponent floor(log2 max|inlier|) (default: per group, S or S-1, whichever has the lower error)' },
  { flags: '--compat <mode>', key: 'compat', description: 'MicroScopiQ compatibility mode: official (bit-exact quantize_mx_outlier_v1 direct-cast)', parse: oneOf('--compat', ['official'] as const) },
];

/** The ReCoN topologies' spec tags for messages, alphabetical (bf, xb). */
const RECON_SPEC_TAGS = RECON_TOPOLOGY_MODELS.map((t) => t.specTag).sort().join(', ');

const HW_ONLY = ['plainMxScale', 'topFraction', 'groupSize', 'recon', 'xbits', 'guardBits', 'maxShift', 'outlierExpOffset', 'calibration', 'damping'] as const;

function label(o: Record<string, unknown>): string {
  if (o.compat === 'official') return `microscopiq-official-w${o.inlier === 'mxint4' ? 4 : 2}`;
  let s = `microscopiq-w${(o.inlier ?? 'mxint4') === 'mxint2' ? 2 : 4}`;
  const recon = o.recon === undefined ? undefined : reconTopologyModel(String(o.recon));
  if (recon !== undefined && recon.name !== DEFAULT_RECON_TOPOLOGY) s += `+${recon.specTag}`;
  const outlier = findOutlierFormat(o.outlier);
  if (outlier?.specTag !== undefined && !outlier.isDefault) s += `+${outlier.specTag}`;
  if (o.groupSize !== undefined) s += `+g${o.groupSize}`;
  if (o.stdDev !== undefined) s += `+sd${o.stdDev}`;
  if (o.xbits !== undefined) s += `+x${o.xbits}`;
  if (o.calibration !== undefined || o.calibrateOnActivations) s += '+cal';
  return s;
}

function quantizeOfficialReq(req: QuantizeRequest, o: Record<string, unknown>): QuantizeOutcome {
  for (const k of HW_ONLY) {
    if (o[k] !== undefined || (k === 'calibration' && o.calibrateOnActivations)) {
      throw new InputError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} does not apply with --compat official (the official direct-cast has blocks along one axis, no pairing and no Hessian)`);
    }
  }
  const inlier = (o.inlier as InlierName | undefined) ?? 'mxint2';
  const b = inlierElement(inlier).bits;
  const outlier = (o.outlier as OutlierName | undefined) ?? officialDefaultOutlierFormat(b).name;
  const blockSize = req.blockSize ?? 16;
  const { output } = quantizeOfficial(req.data, req.shape, {
    inlierFormat: inlierElement(inlier).name,
    outlierFormat: outlierFormat(outlier).element.name,
    blockSize,
    stdDev: (o.stdDev as number | undefined) ?? 2,
    axis: req.axis ?? 0,
    rounding: req.rounding,
  });
  return {
    values: output,
    // fake quantization: element bits plus the inlier and outlier scales of each block
    ebw: b + 16 / blockSize,
    label: label({ ...o, inlier }),
    nonFinite: officialNaNBlocks(output, req.shape, req.axis ?? 0, blockSize),
  };
}

/** What the official direct-cast does with a block holding NaN or ±Inf. */
const OFFICIAL_NAN_RULE = 'their inlier scale is NaN (as in the official code) and all their elements are NaN';

/** Blocks of the official layout (blockSize along axis, last block zero-padded) whose output holds NaN. */
function officialNaNBlocks(output: Float32Array, shape: readonly number[], axis: number, blockSize: number): NonFiniteBlocks | undefined {
  const ax = axis < 0 ? axis + shape.length : axis;
  const len = shape[ax]!;
  const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const nBlocks = Math.ceil(len / blockSize);
  let blocks = 0;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      for (let blk = 0; blk < nBlocks; blk++) {
        const end = Math.min(len, (blk + 1) * blockSize);
        for (let t = blk * blockSize; t < end; t++) {
          const v = output[base + t * inner]!;
          if (v !== v) {
            blocks++;
            break;
          }
        }
      }
    }
  }
  return blocks > 0 ? { blocks, blockCount: outer * inner * nBlocks, rule: OFFICIAL_NAN_RULE } : undefined;
}

/** Why the hardware layout cannot take W (its shape or a non-finite weight), for msq compare to skip the row. */
function hardwareUnsupported(req: QuantizeRequest): string | undefined {
  if (req.shape.length !== 2) {
    return `the MicroScopiQ hardware layout takes only a 2-d weight matrix [out, in], and W is [${req.shape.join(', ')}] (microscopiq+official takes any shape)`;
  }
  const cols = req.shape[1]!;
  for (let i = 0; i < req.data.length; i++) {
    const v = req.data[i]!;
    if (!Number.isFinite(v)) return `MicroScopiQ needs finite weights, and W[${Math.floor(i / cols)}][${i % cols}] is ${v}`;
  }
  return undefined;
}

const OFFICIAL_NO_PACKED =
  '--compat official is fake quantization (the official direct-cast returns dequantized values only) and has no packed layout; ' +
  'leave out --compat official for the packed .msq of the hardware layout, or leave out --packed';

function quantizeHardware(req: QuantizeRequest, o: Record<string, unknown>): QuantizeOutcome {
  if (req.shape.length !== 2) {
    throw new InputError(`--format microscopiq needs a 2-d weight matrix [out, in]; got shape [${req.shape.join(', ')}] (--compat official takes any shape)`);
  }
  const rank = 2;
  let axis = req.axis ?? 0;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new InputError(`--axis ${axis} is out of range for a 2-d matrix: allowed -2..1 (the output axis)`);
  if (axis < 0) axis += rank;
  const [d0, d1] = req.shape as [number, number];
  const transpose = axis === 1;
  const N = transpose ? d1 : d0;
  const K = transpose ? d0 : d1;
  let W = req.data;
  if (transpose) {
    W = new Float32Array(N * K);
    for (let i = 0; i < d0; i++) for (let j = 0; j < d1; j++) W[j * K + i] = req.data[i * d1 + j]!;
  }
  const opts: QuantizeOptions = {
    inlier: o.inlier as InlierName | undefined,
    outlier: o.outlier as OutlierName | undefined,
    stdDev: o.stdDev as number | undefined,
    topFraction: o.topFraction as number | undefined,
    groupSize: o.groupSize as number | undefined,
    ublockSize: req.blockSize ?? 8,
    recon: o.recon as ReconTopology | undefined,
    xbits: o.xbits as number | undefined,
    guardBits: o.guardBits as number | undefined,
    maxShift: o.maxShift as number | undefined,
    outlierExpOffset: o.outlierExpOffset as number | undefined,
    damping: o.damping as number | undefined,
    rounding: req.rounding,
    scaleSearch: o.plainMxScale ? false : undefined,
  };
  let X: { data: Float32Array; shape: readonly number[] } | undefined;
  if (typeof o.calibration === 'string') X = loadTensor(o.calibration);
  else if (o.calibrateOnActivations) {
    if (!req.activations) throw new InputError('microscopiq+cal needs activations to calibrate on: give --activations X.npy');
    X = req.activations;
  }
  if (X) {
    if (X.shape.length !== 2) throw new InputError(`calibration data must be a 2-d matrix [M, K]; got shape [${X.shape.join(', ')}]`);
    opts.calibration = { X: X.data, M: X.shape[0]!, K: X.shape[1]! };
  }
  const layer = quantizeMicroScopiQ(W, N, K, opts);
  let values = dequantize(layer);
  if (transpose) {
    const t = new Float32Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = values[n * K + k]!;
    values = t;
  }
  const s = layer.stats;
  const pct = (x: number) => `${((100 * x) / s.weights).toFixed(2)}%`;
  const clipped = s.clippedNoLegalPartner + s.clippedPartnersTaken + s.clippedNotWorthIt;
  return {
    values,
    ebw: effectiveBits(layer),
    label: label({ ...o, recon: layer.config.recon }),
    pack: () => encodePacked(layer),
    notes:
      `outlier candidates ${pct(s.candidates)}, kept as FP outliers ${pct(s.outliers)} (${s.ublocksWithOutliers} μBs), ` +
      `clipped ${clipped} (no legal partner ${s.clippedNoLegalPartner}, partners taken ${s.clippedPartnersTaken}, not worth it ${s.clippedNotWorthIt}), ` +
      `shift-window clamps ${s.windowClamped}, saturated outliers ${s.outliersSaturated} (clipped to the window's top code)` +
      (s.hessian ? `; Hessian: ${s.hessian.calibrationRows} rows, damping ${s.hessian.relativeDamping}${s.hessian.retries ? ` (raised ${s.hessian.retries}×)` : ''}, ${s.hessian.deadInputs} dead inputs, ${s.hessian.seconds.toFixed(1)} s` : ''),
  };
}

export const microscopiqFamily: SchemeFamily = {
  id: 'microscopiq',
  formats: ['microscopiq'],
  describe: () =>
    'MicroScopiQ: MX-INT-b inliers, 2b-bit MX-FP outliers in pruned partner slots of the same μB (EBW counts the packed .msq file); --compat official for the official fake quantizer',
  options: OPTIONS,
  parseSpecTokens(format, tokens) {
    const out: Record<string, unknown> = {};
    for (const t of tokens) {
      let m: RegExpExecArray | null;
      if (t === 'w2') out.inlier = 'mxint2';
      else if (t === 'w4') out.inlier = 'mxint4';
      else if (reconTopologyBySpecTag(t)) out.recon = reconTopologyBySpecTag(t)!.name;
      else if (t === 'cal') out.calibrateOnActivations = true;
      else if (t === 'official') out.compat = 'official';
      else if (outlierFormatByTag(t)) out.outlier = outlierFormatByTag(t)!.name;
      else if ((m = /^g(\d+)$/.exec(t))) out.groupSize = Number(m[1]);
      else if ((m = /^b(\d+)$/.exec(t))) out.ublockSize = Number(m[1]);
      else if ((m = /^sd(\d+(\.\d+)?)$/.exec(t))) out.stdDev = Number(m[1]);
      else if ((m = /^x(\d)$/.exec(t))) out.xbits = Number(m[1]);
      else {
        throw new InputError(
          `${format}+${t}: unknown option '${t}': allowed are w2, w4, ${RECON_SPEC_TAGS}, cal, official, ${OUTLIER_SPEC_TAGS.join(', ')}, g<G>, b<B>, sd<k>, x<xbits>`,
        );
      }
    }
    return out;
  },
  unsupported(_format, req) {
    if (req.options.compat === 'official') return req.shape.length === 0 ? 'a 0-d array has no axis to block along' : undefined;
    return hardwareUnsupported(req);
  },
  noPackedLayout: (_format, options) => (options.compat === 'official' ? OFFICIAL_NO_PACKED : undefined),
  quantize(_format, req) {
    const o = { ...req.options };
    if (o.ublockSize !== undefined) req = { ...req, blockSize: o.ublockSize as number };
    return o.compat === 'official' ? quantizeOfficialReq(req, o) : quantizeHardware(req, o);
  },
};
