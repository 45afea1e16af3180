import type { Command } from 'commander';
import { DEFAULT_ACCEL, defaultGroup, type AccelOptions } from '../generator/accel-config.ts';
import { parseIntFlag } from './parse.ts';
import { RECON_TOPOLOGY_BLOCKS, reconTopology } from '../generator/blocks/recon-topologies.ts';
import { ADDER_STYLES, DEFAULT_ADDER_STYLE, type AdderStyle } from '../generator/blocks/fp32-common.ts';
import { DECODE_RATES, DEFAULT_DECODE_RATE, type DecodeRate } from '../quant/hwmodel/decode.ts';

/** The generator flags shared by `generate`, `vectors`, `sim` (issue contract: names are stable). */
export function addAccelFlags(cmd: Command): Command {
  const d = DEFAULT_ACCEL;
  return cmd
    .option('--rows <R>', 'PE rows (inputs per tile): 2..64', String(d.rows))
    .option('--cols <C>', 'PE columns (outputs per tile): a multiple of --ublock, up to 64', String(d.cols))
    .option('--wbits <b>', 'weight bits: 2 or 4', String(d.wbits))
    .option('--abits <a>', 'activation bits: 4..8', String(d.abits))
    .option('--ublock <B>', 'μB size (ReCoN lanes): 4, 8 or 16', String(d.ublock))
    .option('--group <G>', `group size along K (one weight and activation exponent each): a multiple of --rows (default ${d.group}, or the smallest multiple of --rows above it)`)
    .option('--recon <topology>', `ReCoN topology: ${RECON_TOPOLOGY_BLOCKS.map((t) => t.name).join(' or ')}`, d.recon)
    .option('--depth <D>', 'output buffer depth: rows of M per pass, a power of two', String(d.depth))
    .option('--no-outliers', 'build the plain MX-INT array without outlier support (for comparison)')
    .option('--adders <style>', `wide adders (post-array accumulation, fp32 adder): ${ADDER_STYLES.join(' or ')} (prefix: Kogge-Stone, for standard cells; carry: a plain +, mapped onto FPGA carry chains; same results)`, DEFAULT_ADDER_STYLE)
    .option(
      '--decode-rate <rate>',
      `records the decode unit takes per cycle: ${DECODE_RATES.join(' or ')} (full: one per cycle; half: at most one per two cycles, its record test registered, which shortens the decode loop for FPGAs; same results, weight loading up to twice as long)`,
      DEFAULT_DECODE_RATE,
    );
}

export interface AccelFlagValues {
  rows: string;
  cols: string;
  wbits: string;
  abits: string;
  ublock: string;
  group?: string;
  recon: string;
  depth: string;
  outliers: boolean;
  adders: string;
  decodeRate: string;
}

/** The generator flags, for refusing them where they do not apply (e.g. --top pe). */
export const ACCEL_FLAGS = ['--rows', '--cols', '--wbits', '--abits', '--ublock', '--group', '--recon', '--depth', '--no-outliers', '--adders', '--decode-rate'] as const;

export function accelOptionsFrom(v: AccelFlagValues): AccelOptions {
  const rows = parseIntFlag('--rows', v.rows);
  return {
    rows,
    cols: parseIntFlag('--cols', v.cols),
    wbits: parseIntFlag('--wbits', v.wbits),
    abits: parseIntFlag('--abits', v.abits),
    ublock: parseIntFlag('--ublock', v.ublock),
    group: v.group === undefined ? defaultGroup(rows) : parseIntFlag('--group', v.group),
    recon: reconTopology(v.recon).name,
    depth: parseIntFlag('--depth', v.depth),
    outliers: v.outliers,
    adders: v.adders as AdderStyle, // checked with the other options by resolveAccelConfig
    decodeRate: v.decodeRate as DecodeRate, // likewise
  };
}
