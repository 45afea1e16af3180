/**
 * Format comparison behind `msq compare`: for each format spec, EBW, weight MSE
 * and SQNR, and with activations X the SQNR of Y = X·Wᵀ (activations kept in
 * full precision, so the row isolates the weight format).
 *
 * Rows are format specs "NAME[+token...]" resolved through quant/schemes.ts, so
 * a new scheme family (MicroScopiQ) adds rows without changes here.
 */
import { InputError } from '../common/errors.ts';
import type { Rounding } from './formats.ts';
import { parseFormatSpec } from './schemes.ts';

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
  mse: number;
  /** 10·log10(Σw² / Σ(w - ŵ)²); Infinity when exact. */
  sqnrDb: number;
  /** Same for Y = X·Wᵀ, when activations are given. */
  outputSqnrDb?: number;
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

export function compareFormats(input: CompareInput): CompareRow[] {
  const w = input.weights;
  const specs = input.specs.map((s) => ({ spec: s, ...parseFormatSpec(s) })); // validate all before the slow part
  let n = 0;
  let k = 0;
  let ySignal = 0;
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
    ySignal = sumSquaresOfProduct(x.data, x.shape[0]!, w.data, n, k);
  }
  let wSignal = 0;
  for (let i = 0; i < w.data.length; i++) wSignal += w.data[i]! * w.data[i]!;
  const diff = new Float64Array(w.data.length);
  return specs.map(({ spec, family, format, options }) => {
    const r = family.quantize(format, {
      data: w.data,
      shape: w.shape,
      blockSize: input.blockSize,
      axis: input.axis,
      rounding: input.rounding,
      activations: input.activations,
      options,
    });
    let noise = 0;
    for (let i = 0; i < w.data.length; i++) {
      const d = r.values[i]! - w.data[i]!;
      diff[i] = d;
      noise += d * d;
    }
    const row: CompareRow = { spec, label: r.label, ebw: r.ebw, mse: noise / w.data.length, sqnrDb: sqnrDb(wSignal, noise) };
    if (x) row.outputSqnrDb = sqnrDb(ySignal, sumSquaresOfProduct(x.data, x.shape[0]!, diff, n, k));
    return row;
  });
}

function fmtDb(v: number | undefined): string {
  if (v === undefined) return '';
  return Number.isFinite(v) ? v.toFixed(2) : 'exact';
}

/** The comparison as a markdown table. */
export function compareMarkdown(rows: readonly CompareRow[]): string {
  const withY = rows.some((r) => r.outputSqnrDb !== undefined);
  const head = ['format', 'EBW (bits)', 'weight MSE', 'SQNR (dB)', ...(withY ? ['X·Wᵀ SQNR (dB)'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of rows) {
    const cells = [r.label, r.ebw.toFixed(4), r.mse.toExponential(3), fmtDb(r.sqnrDb), ...(withY ? [fmtDb(r.outputSqnrDb)] : [])];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
