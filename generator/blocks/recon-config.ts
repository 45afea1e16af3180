import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';
import { laneSettingBits, laneWidth, mergedWidth, type ReconParams, type ReconTopology } from '../../quant/hwmodel/recon.ts';
import { peProductWidth } from './pe.ts';

export const RECON_TOPOLOGIES: readonly ReconTopology[] = ['crossbar', 'butterfly'];
export const UBLOCK_SIZES = [4, 8, 16] as const;

/** Structural parameters of one ReCoN slice (one μB of B lanes). */
export interface ReconConfig {
  lanes: number;
  wbits: number;
  abits: number;
  guardBits: number;
  shiftBits: number;
  topology: ReconTopology;
}

export function reconParams(c: ReconConfig): ReconParams {
  return { lanes: c.lanes, splitBits: c.wbits - 1, guardBits: c.guardBits, shiftBits: c.shiftBits };
}

export function checkReconConfig(c: ReconConfig): void {
  checkOneOf('--ublock', c.lanes, UBLOCK_SIZES);
  checkOneOf('--recon', c.topology, RECON_TOPOLOGIES);
  checkIntRange('shift field width', c.shiftBits, 1, 5);
  checkIntRange('guard bits', c.guardBits, 0, (1 << c.shiftBits) - 1);
  if (c.wbits !== 2 && c.wbits !== 4) throw new InputError(`--wbits ${c.wbits} is not supported: allowed values are 2, 4`);
}

/** Derived widths, named as in the emitted Verilog. */
export function reconWidths(c: ReconConfig): { PW: number; MW: number; LW: number; CFGW: number; PB: number } {
  const PW = peProductWidth(c.wbits, c.abits);
  const p = reconParams(c);
  return { PW, MW: mergedWidth(PW, p.splitBits), LW: laneWidth(PW, p), CFGW: laneSettingBits(p), PB: Math.log2(c.lanes) };
}

export function reconSuffix(c: ReconConfig): string {
  return `b${c.lanes}_w${c.wbits}a${c.abits}_f${c.guardBits}s${c.shiftBits}`;
}
