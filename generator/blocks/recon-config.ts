import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';
import { laneSettingBits, laneWidth, mergedWidth, type ReconParams, type ReconTopology } from '../../quant/hwmodel/recon.ts';
import { Dim } from '../dsl/dim.ts';
import { Layout } from '../dsl/struct.ts';
import { peProductWidth } from './pe.ts';
import { reconTopology } from './recon-topologies.ts';

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
  reconTopology(c.topology);
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

/** Bits of a lane's mode field (MODE_CODE in quant/hwmodel/recon.ts: 0 inlier, 1 outlier, 2 pruned, 3 reserved). */
export const LANE_MODE_BITS = 2;

export type LaneSettingField = 'mode' | 'partner' | 'shift';

/**
 * One lane's setting as a packed layout, as `encodeLaneSetting`
 * (quant/hwmodel/recon.ts) packs it: mode in the LSBs, then the partner lane
 * (PB = log2 B bits), then the merge shift (SHW bits). The decode unit packs
 * it and the ReCoN networks unpack it through this one description.
 */
export function laneSettingLayout(PB: Dim | number, SHW: Dim | number): Layout<LaneSettingField> {
  const layout = new Layout<LaneSettingField>('lane setting', [
    { name: 'mode', width: LANE_MODE_BITS, doc: '0 inlier, 1 outlier, 2 pruned' },
    { name: 'partner', width: PB, doc: 'partner lane of an outlier' },
    { name: 'shift', width: SHW, doc: 'left shift of a merged outlier' },
  ]);
  const pb = Dim.from(PB).value;
  const expected = laneSettingBits({ lanes: 2 ** pb, splitBits: 1, guardBits: 0, shiftBits: Dim.from(SHW).value });
  if (layout.width.value !== expected) throw new Error(`internal: lane setting layout has ${layout.width.value} bits, the model ${expected}`);
  return layout;
}
