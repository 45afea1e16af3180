/**
 * Format comparison behind `msq compare`: for each format spec, EBW, weight MSE
 * and SQNR, and with activations X the SQNR of Y = X·Wᵀ (activations kept in
 * full precision, so the row isolates the weight format).
 *
 * Rows are format specs "NAME[+token...]" resolved through quant/schemes.ts, so
 * a new scheme family (MicroScopiQ) adds rows without changes here.
 *
 * Honest numbers: a block holding NaN or ±Inf comes out NaN (OCP MX rule), so
 * MSE and SQNR are measured over the finite elements of the other blocks and
 * the row says so (note, nonFinite); with nothing left they are n/a (NaN here,
 * null in JSON, "n/a" in markdown), never "exact". A format that cannot take
 * the tensor (SchemeFamily.unsupported) is skipped with its reason.
 */
import { InputError } from '../common/errors.ts';
import type { Rounding } from './formats.ts';
import { parseFormatSpec, type NonFiniteBlocks } from './schemes.ts';

/** Rows shown when --formats is not given. */
export const DEFAULT_COMPARE_SPECS: readonly string[] = [
  'mxint8',
  'mxfp8_e4m3',
  'mxfp6_e2m3',
  'mxfp6_e3m2',
  'nxfp6+nm2+am+cr',
  'mxint4',
  'mxfp4_e2m1',
  'nxfp4+nm2',
  'nxfp4+am',
  'nxfp4+cr',
  'nxfp4+nm2+am+cr',
  'mxint2',
  'microscopiq+w4',
  'microscopiq+w2',
];

/** Extra default rows when activations are given: MicroScopiQ calibrated on them (Hessian mode). */
export const DEFAULT_COMPARE_SPECS_WITH_ACTIVATIONS: readonly string[] = [...DEFAULT_COMPARE_SPECS, 'microscopiq+w4+cal', 'microscopiq+w2+cal'];

export interface CompareRow {
  spec: string;
  label: string;
  ebw: number;
  /** Mean squared error over the measured elements (all of them unless nonFinite says otherwise); NaN when none is left. */
  mse: number;
  /** 10·log10(Σw² / Σ(w - ŵ)²) over the same elements; Infinity when exact, NaN when no element is left (n/a). */
  sqnrDb: number;
  /** Same for Y = X·Wᵀ, when activations are given (weights of affected blocks left out of both Y and its error). */
  outputSqnrDb?: number;
  /** Set when some blocks held NaN or ±Inf: what the format did (blocks, blockCount, rule, as the format reports them) and how many elements the MSE and SQNR are over. */
  nonFinite?: Partial<NonFiniteBlocks> & {
    /** Elements the MSE and SQNR are over: the finite elements of the unaffected blocks. */
    elementsUsed: number;
    elements: number;
  };
  /** One line on why the row's numbers are partial or n/a (set together with nonFinite). */
  note?: string;
}

/** A format `msq compare` left out because it cannot take the tensor (e.g. its shape). */
export interface SkippedFormat {
  spec: string;
  reason: string;
}

export interface CompareResult {
  rows: CompareRow[];
  skipped: SkippedFormat[];
}

export interface CompareInput {
  weights: { data: Float32Array; shape: readonly number[] };
  activations?: { data: Float32Array; shape: readonly number[] };
  specs: readonly string[];
  /** Undefined: each family's default. */
  blockSize?: number;
  axis?: number;
  rounding: Rounding;
}

export function sqnrDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  return 10 * Math.log10(signal / noise);
}

/** Signal and noise power of a quantization, over the elements where both the input and its quantized value are finite. */
export interface FiniteMeasure {
  signal: number;
  noise: number;
  /** Elements measured. */
  used: number;
  /** All elements. */
  total: number;
  /** 1 where the element was measured; null when every element was. */
  mask: Uint8Array | null;
}

/**
 * Σw² and Σ(w - ŵ)² over the elements where w and ŵ are both finite. Under the
 * OCP MX rule a block holding NaN or ±Inf comes out all NaN, so these are
 * exactly the elements of the unaffected blocks.
 */
export function measureFinite(original: Float32Array, quantized: Float32Array): FiniteMeasure {
  let signal = 0;
  let noise = 0;
  let used = 0;
  let mask: Uint8Array | null = null;
  const n = original.length;
  for (let i = 0; i < n; i++) {
    const w = original[i]!;
    const q = quantized[i]!;
    // w - w and q - q are 0 for finite values, NaN for NaN and ±Inf.
    if (w - w === 0 && q - q === 0) {
      signal += w * w;
      noise += (q - w) * (q - w);
      used++;
      if (mask) mask[i] = 1;
    } else if (!mask) {
      mask = new Uint8Array(n);
      mask.fill(1, 0, i);
    }
  }
  return { signal, noise, used, total: n, mask };
}

/** The SQNR of a measurement in dB: Infinity when exact, NaN when no element was measured. */
export function measuredSqnrDb(m: FiniteMeasure): number {
  return m.used === 0 ? NaN : sqnrDb(m.signal, m.noise);
}

/**
 * How a quantization with NaN/Inf blocks was measured, one clause, e.g.
 * "3 of 16 blocks hold NaN or Inf: their scale is NaN (OCP MX rule) and all
 * their elements are NaN".
 */
export function nonFiniteClause(nf: NonFiniteBlocks): string {
  return `${nf.blocks} of ${nf.blockCount} blocks hold NaN or Inf: ${nf.rule}`;
}

/** Where the numbers of a partial measurement come from, e.g. "over the 416 finite elements of the 13 blocks without NaN/Inf". */
export function measuredOver(m: FiniteMeasure, nf: NonFiniteBlocks | undefined): string {
  if (m.used === 0) return nf ? `every block holds NaN or Inf` : 'no element is finite';
  const blocks = nf ? ` of the ${nf.blockCount - nf.blocks} blocks without NaN/Inf` : '';
  return `over the ${m.used} finite elements${blocks}`;
}

/** Σ over (m, n) of (X·Dᵀ)[m, n]², with X [M, K] and D [N, K] row-major, accumulated in doubles. */
export function sumSquaresOfProduct(x: Float32Array, m: number, d: Float64Array | Float32Array, n: number, k: number): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    const xo = i * k;
    for (let j = 0; j < n; j++) {
      const dO = j * k;
      let acc = 0;
      for (let t = 0; t < k; t++) acc += x[xo + t]! * d[dO + t]!;
      total += acc * acc;
    }
  }
  return total;
}

/** The first non-finite value of a 2-d tensor as "NAME[i][j] is v", or undefined. */
function firstNonFinite(name: string, t: { data: Float32Array; shape: readonly number[] }): string | undefined {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (!Number.isFinite(v)) return `${name}[${Math.floor(i / cols)}][${i % cols}] is ${v}`;
  }
  return undefined;
}

/**
 * Quantizes the weights with every spec and measures each. A format that
 * cannot take the tensor (SchemeFamily.unsupported: e.g. MicroScopiQ's
 * hardware layout and a 3-d tensor) is skipped with its reason; if every
 * format is skipped, that is an InputError.
 */
export function compareFormats(input: CompareInput): CompareResult {
  const w = input.weights;
  const specs = input.specs.map((s) => ({ spec: s, ...parseFormatSpec(s) })); // validate all before the slow part
  let n = 0;
  let k = 0;
  let ySignal = NaN; // Σ(X·Wᵀ)² with the whole W, computed when first needed
  const x = input.activations;
  if (x) {
    if (w.shape.length !== 2 || x.shape.length !== 2) {
      throw new InputError(
        `--activations needs a 2-d weight matrix W [N, K] and 2-d activations X [M, K]; got W [${w.shape.join(', ')}] and X [${x.shape.join(', ')}]`,
      );
    }
    [n, k] = w.shape as [number, number];
    if (x.shape[1] !== k) {
      throw new InputError(`--activations X [${x.shape.join(', ')}] does not match W [${w.shape.join(', ')}]: X·Wᵀ needs X's second dimension to equal K = ${k}`);
    }
    const bad = firstNonFinite('X', x);
    if (bad !== undefined) throw new InputError(`--activations: ${bad}: the X·Wᵀ SQNR needs finite activations`);
  }
  const rows: CompareRow[] = [];
  const skipped: SkippedFormat[] = [];
  const diff = new Float64Array(w.data.length);
  for (const { spec, family, format, options } of specs) {
    const req = {
      data: w.data,
      shape: w.shape,
      blockSize: input.blockSize,
      axis: input.axis,
      rounding: input.rounding,
      activations: input.activations,
      options,
    };
    const reason = family.unsupported?.(format, req);
    if (reason !== undefined) {
      skipped.push({ spec, reason });
      continue;
    }
    const r = family.quantize(format, req);
    const m = measureFinite(w.data, r.values);
    const row: CompareRow = { spec, label: r.label, ebw: r.ebw, mse: m.used === 0 ? NaN : m.noise / m.used, sqnrDb: measuredSqnrDb(m) };
    if (m.mask) {
      row.nonFinite = { ...r.nonFinite, elementsUsed: m.used, elements: m.total };
      const what = r.nonFinite ? nonFiniteClause(r.nonFinite) : `${m.total - m.used} elements are NaN or Inf`;
      row.note =
        m.used === 0
          ? `${what}; no finite element is left to measure, so MSE and SQNR${x ? ' (and X·Wᵀ SQNR)' : ''} are n/a`
          : `${what}; MSE and SQNR are ${measuredOver(m, r.nonFinite)}${x ? ' (X·Wᵀ SQNR with the weights of those blocks left out)' : ''}`;
    }
    if (x) {
      if (m.used === 0) row.outputSqnrDb = NaN;
      else {
        const mask = m.mask;
        for (let i = 0; i < w.data.length; i++) diff[i] = mask && !mask[i] ? 0 : r.values[i]! - w.data[i]!;
        let signal: number;
        if (mask) {
          const masked = new Float32Array(w.data.length);
          for (let i = 0; i < masked.length; i++) masked[i] = mask[i] ? w.data[i]! : 0;
          signal = sumSquaresOfProduct(x.data, x.shape[0]!, masked, n, k);
        } else {
          if (Number.isNaN(ySignal)) ySignal = sumSquaresOfProduct(x.data, x.shape[0]!, w.data, n, k);
          signal = ySignal;
        }
        row.outputSqnrDb = sqnrDb(signal, sumSquaresOfProduct(x.data, x.shape[0]!, diff, n, k));
      }
    }
    rows.push(row);
  }
  if (rows.length === 0) {
    throw new InputError(
      `no format can take W [${w.shape.join(', ')}]: ${skipped.map((s) => `${s.spec}: ${s.reason}`).join('; ')}`,
    );
  }
  return { rows, skipped };
}

/** An SQNR cell: the value, "exact" for no error, "n/a" when nothing was measured; JSON rows (null) count as exact unless nothing was measured. */
function fmtDb(v: number | null | undefined, row: CompareRow): string {
  if (v === undefined) return '';
  if (row.nonFinite && row.nonFinite.elementsUsed === 0) return 'n/a';
  if (v === null) return 'exact';
  if (Number.isNaN(v)) return 'n/a';
  if (v === Infinity) return 'exact';
  return v.toFixed(2);
}

/** Marks a cell whose number has a note below the table. */
const NOTE_MARK = '†';

/**
 * The comparison as a markdown table, then one line per row with a note (NaN or
 * Inf blocks: what the numbers are over) and one per skipped format.
 */
export function compareMarkdown(rows: readonly CompareRow[], skipped: readonly SkippedFormat[] = []): string {
  const withY = rows.some((r) => r.outputSqnrDb !== undefined);
  const head = ['format', 'EBW (bits)', 'weight MSE', 'SQNR (dB)', ...(withY ? ['X·Wᵀ SQNR (dB)'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const mark = r.note ? NOTE_MARK : '';
    const mse = r.mse === null || Number.isNaN(r.mse) ? 'n/a' : r.mse.toExponential(3);
    const cells = [r.label, r.ebw.toFixed(4), mse + mark, fmtDb(r.sqnrDb, r) + mark, ...(withY ? [fmtDb(r.outputSqnrDb, r) + (r.outputSqnrDb !== undefined ? mark : '')] : [])];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  // Rows with the same note (all MX and NxFP rows of one tensor, typically) share one line.
  const byNote = new Map<string, string[]>();
  for (const r of rows) if (r.note) byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.label]);
  const notes = [...byNote].map(([note, labels]) => `${NOTE_MARK} ${labels.join(', ')}: ${note}`);
  const skips = skipped.map((s) => `skipped ${s.spec}: ${s.reason}`);
  const tail = [...notes, ...skips];
  return `${lines.join('\n')}\n${tail.length ? `\n${tail.join('\n')}\n` : ''}`;
}
