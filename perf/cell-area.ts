/**
 * Area model of the benchmarks: NAND2-equivalents (GE) per Yosys internal gate
 * cell, as `synth` (generic synthesis, `abc -fast` on the default gate set)
 * leaves them. Values are X1 cell areas of a typical 45 nm library divided by
 * its NAND2 (NanGate FreePDK45 Open Cell Library: NAND2 0.798 µm², INV 0.532,
 * AND2/OR2 1.064, XOR2/XNOR2 1.596, MUX2 1.862, AOI21/OAI21 1.064,
 * AOI22/OAI22 1.330, DFF 4.522, DFFR 5.320), rounded to thirds. Gates the
 * library lacks are costed as the cheapest combination it has; flip-flop
 * variants add their enable multiplexer and reset gate. The table is printed in
 * docs/PERFORMANCE.md; an unknown cell type is an error, never silently zero.
 */

export interface CellAreaEntry {
  /** Yosys cell type pattern (exact, or a prefix ending in `*`) */
  cell: string;
  ge: number;
  /** what it is costed as */
  as: string;
}

export const CELL_AREA_GE: readonly CellAreaEntry[] = [
  { cell: '$_NOT_', ge: 0.67, as: 'INV' },
  { cell: '$_BUF_', ge: 1.0, as: 'BUF' },
  { cell: '$_NAND_', ge: 1.0, as: 'NAND2' },
  { cell: '$_NOR_', ge: 1.0, as: 'NOR2' },
  { cell: '$_AND_', ge: 1.33, as: 'AND2' },
  { cell: '$_OR_', ge: 1.33, as: 'OR2' },
  { cell: '$_ANDNOT_', ge: 1.67, as: 'INV + NOR2 (A & ~B)' },
  { cell: '$_ORNOT_', ge: 1.67, as: 'INV + NAND2 (A | ~B)' },
  { cell: '$_XOR_', ge: 2.0, as: 'XOR2' },
  { cell: '$_XNOR_', ge: 2.0, as: 'XNOR2' },
  { cell: '$_MUX_', ge: 2.33, as: 'MUX2' },
  { cell: '$_NMUX_', ge: 3.0, as: 'MUX2 + INV' },
  { cell: '$_AOI3_', ge: 1.33, as: 'AOI21' },
  { cell: '$_OAI3_', ge: 1.33, as: 'OAI21' },
  { cell: '$_AOI4_', ge: 1.67, as: 'AOI22' },
  { cell: '$_OAI4_', ge: 1.67, as: 'OAI22' },
  { cell: '$_DFF_P_', ge: 5.67, as: 'DFF' },
  { cell: '$_DFF_N_', ge: 6.33, as: 'DFF + INV on the clock' },
  { cell: '$_DFFE_*', ge: 8.0, as: 'DFF + MUX2 (enable)' },
  { cell: '$_SDFF_*', ge: 7.0, as: 'DFF + AND2 (synchronous reset)' },
  { cell: '$_SDFFE_*', ge: 9.33, as: 'DFF + MUX2 + AND2 (reset over enable)' },
  { cell: '$_SDFFCE_*', ge: 9.33, as: 'DFF + MUX2 + AND2 (enable over reset)' },
  { cell: '$_DFF_PN0_', ge: 6.67, as: 'DFFR (asynchronous reset)' },
  { cell: '$_DFF_PN1_', ge: 6.67, as: 'DFFS (asynchronous set)' },
  { cell: '$_DFF_PP0_', ge: 7.33, as: 'DFFR + INV' },
  { cell: '$_DFF_PP1_', ge: 7.33, as: 'DFFS + INV' },
  { cell: '$_DFFE_PN0P_', ge: 9.0, as: 'DFFR + MUX2' },
  { cell: '$_DLATCH_*', ge: 3.33, as: 'latch' },
];

const exact = new Map(CELL_AREA_GE.filter((e) => !e.cell.endsWith('*')).map((e) => [e.cell, e.ge]));
const prefixes = CELL_AREA_GE.filter((e) => e.cell.endsWith('*'))
  .map((e) => ({ prefix: e.cell.slice(0, -1), ge: e.ge }))
  .sort((a, b) => b.prefix.length - a.prefix.length);

/** NAND2-equivalents of one cell of a Yosys gate type; throws on a type the model does not know. */
export function cellAreaGe(type: string): number {
  const e = exact.get(type);
  if (e !== undefined) return e;
  // longest prefix first: $_SDFFE_ before $_SDFF_
  for (const p of prefixes) if (type.startsWith(p.prefix)) return p.ge;
  throw new Error(`cell-area model: no area for Yosys cell type ${type} (add it to perf/cell-area.ts)`);
}

/** Is this Yosys gate type a flip-flop (or latch)? */
export function isFlop(type: string): boolean {
  return /^\$_(S?DFF|DFFE|SDFFC?E|DLATCH)/.test(type);
}
