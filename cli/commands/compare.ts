/**
 * `msq compare`: EBW, weight MSE and SQNR of several formats on one weight
 * tensor (and the SQNR of X·Wᵀ with --activations); a markdown table (or JSON)
 * on stdout and an SVG plot of SQNR against EBW.
 */
import type { Command } from 'commander';
import { DEFAULT_RECON_TOPOLOGY, RECON_TOPOLOGY_MODELS } from '../../quant/hwmodel/recon-topologies.ts';
import { InputError } from '../../common/errors.ts';
import { checkOutputFile, writeFileAtomically } from '../../common/output-path.ts';
import { allFormatNames } from '../../quant/schemes.ts';
import { compareFormats, compareMarkdown, DEFAULT_COMPARE_SPECS, DEFAULT_COMPARE_SPECS_WITH_ACTIVATIONS, type CompareRow } from '../../quant/compare.ts';
import { sqnrPlotSvg } from '../../quant/plot.ts';
import { loadTensor } from '../../quant/tensor-input.ts';
import { parseCommonFlags, type CommonQuantFlags } from './quantize.ts';
import { ROUNDINGS } from '../../quant/formats.ts';

/** The ReCoN topology options of a MicroScopiQ spec, from the registry (the default needs none). */
const topologyOpts = RECON_TOPOLOGY_MODELS.filter((t) => t.name !== DEFAULT_RECON_TOPOLOGY)
  .map((t) => `${t.specTag} (${t.name})`)
  .join(', ');

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('compare number formats on a weight tensor: EBW, weight MSE, SQNR (and X·Wᵀ SQNR); markdown table and an SVG plot')
    .requiredOption('--input <file>', 'weights W [N, K]: FILE.npy, FILE.safetensors:TENSOR_NAME, model.json:TENSOR_NAME (TensorFlow.js) or model.bin:TENSOR_NAME (llama2.c, e.g. layers.0.w1)')
    .option('--activations <file>', 'activations X [M, K] (.npy, safetensors or TFJS model.json, as --input): adds the SQNR of X·Wᵀ (X kept in full precision)')
    .option(
      '--formats <list>',
      `comma-separated format specs NAME[+opt...]; NAME one of ${allFormatNames().join(', ')}; ` +
        'NxFP opts: nm1..nm3 (NanoMantissa bits), am (Adaptive Microexponent), cr (Code Recycling), e.g. nxfp4+nm2+am+cr; ' +
        `MicroScopiQ opts: w2|w4, ${topologyOpts}, cal (Hessian mode calibrated on --activations, in-sample), official, g<G>, b<B>, sd<k>, x<bits>, e4m3; ` +
        `default: ${DEFAULT_COMPARE_SPECS.join(',')} (with --activations also microscopiq+w4+cal,microscopiq+w2+cal)`,
    )
    .option('--block-size <n>', 'elements per block sharing one scale (default 32; microscopiq: μB size, default 8)')
    .option('--axis <n>', 'axis of W along which blocks run, negative counts from the end (default -1; microscopiq: the output axis, default 0)')
    .option('--rounding <mode>', `element rounding: ${ROUNDINGS.join(', ')}`, 'nearest')
    .option('--json', 'print the rows (and the formats skipped for this tensor) as JSON instead of a markdown table')
    .option('--plot <file>', 'where to write the SVG plot of SQNR against EBW', 'msq-compare.svg')
    .option('--no-plot', 'do not write the SVG plot')
    .action((flags: CommonQuantFlags & { input: string; activations?: string; formats?: string; json?: boolean; plot: string | false }) => {
      const common = parseCommonFlags(flags);
      const formats = flags.formats ?? (flags.activations !== undefined ? DEFAULT_COMPARE_SPECS_WITH_ACTIVATIONS : DEFAULT_COMPARE_SPECS).join(',');
      const specs = formats
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      if (specs.length === 0) throw new InputError('--formats is empty: give at least one format, e.g. --formats mxfp4_e2m1,nxfp4+nm2');
      const plot = typeof flags.plot === 'string' ? checkOutputFile('--plot', flags.plot, ['.svg']) : undefined;
      const w = loadTensor(flags.input);
      const x = flags.activations !== undefined ? loadTensor(flags.activations) : undefined;
      const result = compareFormats({ weights: w, activations: x, specs, ...common });
      const rows = plotRows(result.rows);
      if (plot !== undefined) writeFileAtomically(plot, sqnrPlotSvg(rows));
      if (flags.json) {
        const doc = {
          input: flags.input,
          shape: w.shape,
          activations: flags.activations ?? null,
          activationShape: x?.shape ?? null,
          ...common,
          plot: typeof flags.plot === 'string' ? flags.plot : null,
          rows: result.rows.map((r) => ({
            ...r,
            mse: finiteOrNull(r.mse),
            sqnrDb: finiteOrNull(r.sqnrDb),
            outputSqnrDb: r.outputSqnrDb === undefined ? undefined : finiteOrNull(r.outputSqnrDb),
          })),
          skipped: result.skipped,
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        process.stdout.write(
          `W ${flags.input} [${w.shape.join(', ')}]${x ? `, X ${flags.activations} [${x.shape.join(', ')}]` : ''}; ` +
            `${blockingText(common.blockSize, common.axis)}, rounding ${common.rounding}\n\n`,
        );
        process.stdout.write(compareMarkdown(result.rows, result.skipped));
        if (typeof flags.plot === 'string') process.stdout.write(`\nplot: ${flags.plot}\n`);
      }
    });
}

/**
 * JSON has no Infinity or NaN: both are written as null. A null SQNR is exact
 * (no noise) unless the row's note and nonFinite.elementsUsed = 0 say that
 * nothing was left to measure.
 */
function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The header's words for --block-size and --axis, each given or left to each format's default. */
function blockingText(blockSize: number | undefined, axis: number | undefined): string {
  if (blockSize === undefined && axis === undefined) return "each format's default block size and axis";
  if (blockSize === undefined) return `each format's default block size along axis ${axis}`;
  if (axis === undefined) return `blocks of ${blockSize} along each format's default axis`;
  return `blocks of ${blockSize} along axis ${axis}`;
}

/**
 * The points of the SVG plot: a row with nothing to measure (all blocks NaN/Inf)
 * has no point, and a row measured over part of the tensor says so in its label.
 */
function plotRows(rows: readonly CompareRow[]): CompareRow[] {
  return rows
    .filter((r) => !Number.isNaN(r.sqnrDb))
    .map((r) => (r.nonFinite ? { ...r, label: `${r.label} (finite blocks only)` } : r));
}
