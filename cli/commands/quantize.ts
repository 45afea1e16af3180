/**
 * `msq quantize`: direct-cast a tensor to a block format and write the
 * dequantized float32 tensor (same shape) as .npy, optionally the packed bits.
 * Formats and their extra flags come from the dispatch table in quant/schemes.ts.
 */
import { Command, Option } from 'commander';
import { InputError, checkOneOf } from '../../common/errors.ts';
import { checkOutputFile, writeFileAtomically } from '../../common/output-path.ts';
import { parseIntFlag } from '../parse.ts';
import { ROUNDINGS, type Rounding } from '../../quant/formats.ts';
import { SCHEME_FAMILIES, allFormatNames, familyOf, type SchemeFamily } from '../../quant/schemes.ts';
import { loadTensor } from '../../quant/tensor-input.ts';
import { formatNpy } from '../../quant/npy.ts';
import { measureFinite, measuredOver, measuredSqnrDb, nonFiniteClause } from '../../quant/compare.ts';

/** Every family's own flags, added once to a command (shared with `msq compare` if wanted). */
export function addFamilyOptions(cmd: Command): void {
  const seen = new Set<string>();
  for (const fam of SCHEME_FAMILIES) {
    for (const o of fam.options) {
      if (seen.has(o.flags)) continue;
      seen.add(o.flags);
      cmd.addOption(new Option(o.flags, `${o.description} [${fam.formats.join(', ')}]`));
    }
  }
}

/**
 * Collects the family-specific options given on the command line for `fam`;
 * a flag of another family is refused with the formats it applies to.
 */
export function familyOptionsFromFlags(fam: SchemeFamily, format: string, flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const other of SCHEME_FAMILIES) {
    for (const o of other.options) {
      const v = flags[o.key];
      if (v === undefined) continue;
      if (!fam.options.some((mine) => mine.key === o.key)) {
        throw new InputError(`${o.flags.split(' ')[0]} does not apply to --format ${format}: it is an option of ${other.formats.join(', ')}`);
      }
      out[o.key] = typeof v === 'string' && o.parse ? o.parse(v) : v;
    }
  }
  return out;
}

export interface CommonQuantFlags {
  blockSize?: string;
  axis?: string;
  rounding: string;
}

/** --block-size and --axis stay undefined when not given: each family has its own defaults (MX/NxFP 32 and -1, MicroScopiQ 8 and 0). */
export function parseCommonFlags(f: CommonQuantFlags): { blockSize?: number; axis?: number; rounding: Rounding } {
  return {
    blockSize: f.blockSize === undefined ? undefined : parseIntFlag('--block-size', f.blockSize),
    axis: f.axis === undefined ? undefined : parseIntFlag('--axis', f.axis),
    rounding: checkOneOf('--rounding', f.rounding, ROUNDINGS) as Rounding,
  };
}

/** Names a packed file may have: `.bin` (MX, NxFP) and `.msq` (MicroScopiQ, docs/FORMAT.md). */
const PACKED_EXTENSIONS = ['.bin', '.msq'];

export function registerQuantize(program: Command): void {
  const cmd = program
    .command('quantize')
    .description('direct-cast a tensor to a block format; writes the dequantized float32 tensor (and optionally the packed bits)')
    .requiredOption('--format <name>', `number format: ${allFormatNames().join(', ')}`)
    .requiredOption('--input <file>', 'input tensor: FILE.npy (float32/float16, C order), FILE.safetensors:TENSOR_NAME (F32/F16/BF16), model.json:TENSOR_NAME (TensorFlow.js; float32, uint8/uint16/float16-quantized) or model.bin:TENSOR_NAME (llama2.c)')
    .requiredOption('--output <file>', 'output .npy: the dequantized tensor, float32, same shape as the input')
    .option('--block-size <n>', 'elements per block sharing one scale (default 32; microscopiq: μB size B, default 8; --compat official: 16)')
    .option('--axis <n>', 'axis along which blocks run, negative counts from the end (default -1; microscopiq: the output axis, default 0)')
    .option('--rounding <mode>', `element rounding: ${ROUNDINGS.join(' (ties away from zero), ')} (ties to even)`, 'nearest')
    .option('--packed <file>', 'also write the packed scales and element codes, FILE.bin or FILE.msq (layout in docs/NUMERICS.md; microscopiq: the .msq of docs/FORMAT.md; not with --compat official, which is fake quantization)');
  addFamilyOptions(cmd);
  cmd.action((flags: CommonQuantFlags & { format: string; input: string; output: string; packed?: string } & Record<string, unknown>) => {
    const fam = familyOf(flags.format);
    const common = parseCommonFlags(flags);
    const options = familyOptionsFromFlags(fam, flags.format, flags);
    const output = checkOutputFile('--output', flags.output, ['.npy']);
    const packedPath = flags.packed === undefined ? undefined : checkOutputFile('--packed', flags.packed, PACKED_EXTENSIONS);
    const noPacked = flags.packed !== undefined ? fam.noPackedLayout?.(flags.format, options) : undefined;
    if (noPacked !== undefined) throw new InputError(`--packed ${flags.packed}: ${noPacked}`);
    const t = loadTensor(flags.input);
    const r = fam.quantize(flags.format, { data: t.data, shape: t.shape, ...common, options });
    if (flags.packed !== undefined && !r.pack) throw new InputError(`--packed: format ${flags.format} has no packed layout`);
    // Build everything before writing anything: an error leaves no output behind.
    const npy = formatNpy(t.shape, r.values);
    const packed = flags.packed !== undefined ? r.pack!() : undefined;
    writeFileAtomically(output, npy);
    if (packed && packedPath !== undefined) writeFileAtomically(packedPath, packed);
    if (r.nonFinite) process.stderr.write(`msq: warning: ${nonFiniteClause(r.nonFinite)}\n`);
    // SQNR over the finite elements of the blocks without NaN/Inf (all of them for a finite tensor).
    const m = measureFinite(t.data, r.values);
    const sqnr = measuredSqnrDb(m);
    const sqnrText = Number.isNaN(sqnr)
      ? `SQNR n/a (${measuredOver(m, r.nonFinite)})`
      : `SQNR ${sqnr === Infinity ? 'exact (no quantization error)' : `${sqnr.toFixed(2)} dB`}${m.mask ? ` ${measuredOver(m, r.nonFinite)}` : ''}`;
    process.stdout.write(
      `${r.label}: [${t.shape.join(', ')}] -> ${flags.output}${packed ? ` and ${flags.packed} (${packed.length} bytes)` : ''}; ` +
        `EBW ${r.ebw.toFixed(4)} bits/element, ${sqnrText}\n`,
    );
    if (r.notes) process.stdout.write(`  ${r.notes}\n`);
  });
}
