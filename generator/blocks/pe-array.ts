import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { Const, concat, type Expr } from '../dsl/expr.ts';
import { Idx } from '../dsl/index.ts';
import { checkIntRange, InputError } from '../../common/errors.ts';
import { ceilLog2 } from '../../common/bits.ts';
import { pe, peLatency, peProductWidth } from './pe.ts';
import { reconSlice, reconSliceLatency } from './recon-slice.ts';
import { reconTopology } from './recon-topologies.ts';
import { checkReconConfig, reconSuffix, reconWidths, type ReconConfig } from './recon-config.ts';
import type { ReconNetworkConfig } from './recon-lane.ts';

export interface PeArrayConfig {
  rows: number;
  cols: number;
  wbits: number;
  abits: number;
  /** ReCoN settings; null builds the plain MX-INT array without outlier support. */
  recon: ReconConfig | null;
}

/** Widths of the array's buses, derived once (the hardware model uses the same). */
export function peArrayWidths(c: PeArrayConfig): { PW: number; LW: number; ACCW: number; CFGW: number } {
  const PW = peProductWidth(c.wbits, c.abits);
  if (!c.recon) return { PW, LW: PW, ACCW: PW + ceilLog2(c.rows), CFGW: 0 };
  const w = reconWidths(c.recon);
  // |lane| < 2^(LW-1), so a column of R lanes needs ceil(log2 R) more bits.
  return { PW, LW: w.LW, ACCW: w.LW + ceilLog2(c.rows), CFGW: w.CFGW };
}

/**
 * Cycles from a beat presented on a_in (cycle t) to its column sums on col_sum:
 * they are in the bottom row's registers after the edge of cycle t + latency.
 * The accelerator's beat-metadata delay line is sized from it.
 *   1 (input registers) + ROWS - 1 (the activation skew) + the PE's latency - 1
 *   (its product register overlaps the skew stage of the row below) + the
 *   register stages of the ReCoN network (between product and lane register):
 * ROWS + 1 for the plain array, ROWS + 2 + network stages with ReCoN.
 */
export function peArrayLatency(c: PeArrayConfig): number {
  const network = c.recon ? reconSliceLatency(sliceConfig(c.recon)) : 0;
  return 1 + (c.rows - 1) + peLatency({ addend: c.recon ? 'lane' : 'self' }) - 1 + network;
}

/** The array's ReCoN slices have pipelined networks. */
function sliceConfig(r: ReconConfig): ReconNetworkConfig {
  return { ...r, pipelined: true };
}

export function checkPeArrayConfig(c: PeArrayConfig): void {
  checkIntRange('--rows', c.rows, 2, 64);
  checkIntRange('--cols', c.cols, 1, 64);
  if (c.recon) {
    checkReconConfig(c.recon);
    if (c.cols % c.recon.lanes !== 0) throw new InputError(`--cols ${c.cols} is not a multiple of the μB size --ublock ${c.recon.lanes}`);
    if (c.recon.wbits !== c.wbits || c.recon.abits !== c.abits) throw new Error('internal: ReCoN and array operand widths differ');
  }
}

export function peArrayModuleName(c: PeArrayConfig): string {
  const base = `msq_pe_array_r${c.rows}c${c.cols}_w${c.wbits}a${c.abits}`;
  if (!c.recon) return `${base}_plain`;
  return `${base}_${reconTopology(c.recon.topology).tag}_${reconSuffix(c.recon)}`;
}

/**
 * The weight-stationary PE array. PE(r, c) holds the weight of input k0 + r and
 * output n0 + c. Timing (cycle t = the cycle a beat is presented):
 *  - every input is registered once at the boundary (a_in, tile_swap and the
 *    row-load ports alike, so their relative timing is as presented): the
 *    logic that drives them ends at these registers;
 *  - a beat carries one activation per row; row r multiplies it in cycle
 *    t + 1 + r (skew), so the partial sums flowing down the columns meet the
 *    right products;
 *  - within a row every PE sees the same activation in the same cycle, so the
 *    row's ReCoN slices merge products of the same beat; the slices' networks
 *    have register stages of their own (reconSliceLatency) and the PEs register
 *    the lane values before adding them (network and adder in separate cycles);
 *  - the column sums of beat t leave the bottom row after the edge of cycle
 *    t + peArrayLatency (R + 1 plain, R + 2 + network stages with ReCoN).
 * Weights and ReCoN settings are double buffered: a row is loaded with
 * w_row_load[r] while the array computes; `tile_swap` presented with the last
 * beat of a tile makes every row switch to its loaded weights right after that
 * beat (row r r cycles later; its ReCoN settings one cycle after its weights,
 * when that beat's products reach it).
 * Loading rule: after a tile_swap, rows of the next tile are loaded in
 * increasing row order, one per cycle at most, the first no earlier than the
 * cycle after the tile_swap beat. Row r is then written after it has swapped.
 */
export function peArray(c: PeArrayConfig): ModuleDef {
  checkPeArrayConfig(c);
  const w = peArrayWidths(c);
  const peDef = pe({ wbits: c.wbits, abits: c.abits, accWidth: w.ACCW, addend: c.recon ? 'lane' : 'self', laneWidth: c.recon ? w.LW : undefined, productOut: !!c.recon });
  const slice = c.recon ? reconSlice(sliceConfig(c.recon)) : null;
  const doc = c.recon
    ? `${c.rows}x${c.cols} weight-stationary PE array with ${c.recon.topology} ReCoN slices (μB = ${c.recon.lanes} lanes)`
    : `${c.rows}x${c.cols} weight-stationary PE array (plain MX-INT, no outlier support)`;
  return defineModule(peArrayModuleName(c), doc, { block: 'pe_array', ...c }, (m) => {
    const ROWS = m.param('ROWS', c.rows, 'PE rows: inputs k per tile');
    const COLS = m.param('COLS', c.cols, 'PE columns: outputs n per tile');
    const WBITS = m.param('WBITS', c.wbits, 'weight operand width');
    const ABITS = m.param('ABITS', c.abits, 'activation operand width');
    const PW = c.recon ? m.param('PW', w.PW, 'product width') : null;
    const ACCW = m.param('ACCW', w.ACCW, 'column-sum width: lane width + ceil(log2 ROWS)');
    const LANES = c.recon ? m.param('LANES', c.recon.lanes, 'lanes per μB (ReCoN slice)') : null;
    const LW = c.recon ? m.param('LW', w.LW, 'ReCoN lane width') : null;
    const CFGW = c.recon ? m.param('CFGW', w.CFGW, 'bits of one lane setting') : null;
    const UBLOCKS = c.recon ? m.param('UBLOCKS', c.cols / c.recon.lanes, 'μBs per row: COLS / LANES') : null;

    const clk = m.clock();
    const rstN = m.resetN();
    const wRowData = m.input('w_row_data', COLS.times(WBITS), { doc: 'weights of one row, column 0 in the LSBs' });
    const cfgRowData = CFGW ? m.input('cfg_row_data', COLS.times(CFGW), { doc: 'ReCoN lane settings of one row, lane 0 in the LSBs' }) : null;
    const wRowLoad = m.input('w_row_load', ROWS, { doc: 'one-hot: load the row data into that row (shadow copy)' });
    const aIn = m.input('a_in', ROWS.times(ABITS), { doc: 'activations of one beat, row 0 in the LSBs' });
    const tileSwap = m.input('tile_swap', 1, { doc: 'with the last beat of a tile: switch to the loaded weights after it' });
    const colSum = m.output('col_sum', COLS.times(ACCW), { doc: `column sums of the beat presented ${peArrayLatency(c)} cycles earlier` });

    m.comment(
      '---- Input registers: every input once, so all keep their relative timing ----\n' +
        'The controller and decode logic that drives the array ends here; the array adds one cycle of latency.',
    );
    const aInQ = m.reg('a_in_q', ROWS.times(ABITS), { doc: 'a_in, registered' });
    const tileSwapQ = m.reg('tile_swap_q', 1, { doc: 'tile_swap, registered' });
    const wRowDataQ = m.reg('w_row_data_q', COLS.times(WBITS), { doc: 'w_row_data, registered' });
    const cfgRowDataQ = cfgRowData && CFGW ? m.reg('cfg_row_data_q', COLS.times(CFGW), { doc: 'cfg_row_data, registered' }) : null;
    const wRowLoadQ = m.reg('w_row_load_q', ROWS, { doc: 'w_row_load, registered' });
    m.update(aInQ, aIn);
    m.update(tileSwapQ, tileSwap);
    m.update(wRowDataQ, wRowData);
    if (cfgRowData && cfgRowDataQ) m.update(cfgRowDataQ, cfgRowData);
    m.update(wRowLoadQ, wRowLoad);

    m.comment(
      '---- Activation skew: row r sees the beat r cycles after row 0 ----\n' +
        'skew_j holds the activations of rows j..ROWS-1 delayed j cycles; each stage drops the row it has\nserved, so the registers form a triangle.',
    );
    const aRow = m.wire('a_row', ROWS.times(ABITS), { doc: 'activation each row multiplies this cycle' });
    m.assign(aRow.slice(0, ABITS), aInQ.slice(0, ABITS));
    let prev = aInQ;
    for (let j = 1; j < c.rows; j++) {
      const width = ROWS.minus(j).times(ABITS);
      const reg = m.reg(`skew_${j}`, width, { doc: `activations of rows ${j}..${c.rows - 1}, delayed ${j} cycle${j > 1 ? 's' : ''}` });
      m.update(reg, prev.slice(ABITS, width)); // drop the row the previous stage served
      m.assign(aRow.slice(ABITS.times(j), ABITS), reg.slice(0, ABITS));
      prev = reg;
    }

    m.comment(
      '---- Swap timing: bit j of swap_pipe is tile_swap_q delayed j + 1 cycles ----\n' +
        'Weights of row r swap r cycles after tile_swap_q, its ReCoN settings r + 1 cycles after, right after the\n' +
        "last beat's products entered the network, whose registers carry the settings along (the plain array\n" +
        'needs only the first ROWS - 1 delays).',
    );
    const depth = c.recon ? ROWS : ROWS.minus(1);
    const swapPipe = m.reg('swap_pipe', depth, { doc: `tile_swap_q delayed 1..${depth.value} cycles` });
    m.update(swapPipe, depth.value === 1 ? tileSwapQ : concat(swapPipe.slice(0, depth.minus(1)), tileSwapQ));
    const wSwap = m.wire('w_swap', ROWS, { doc: 'row r switches weights r cycles after tile_swap_q' });
    m.assign(wSwap, concat(swapPipe.slice(0, ROWS.minus(1)), tileSwapQ));

    m.comment(
      '---- The grid: partial sums enter row 0 as zero and leave row ROWS - 1 ----\n' +
        'Per-PE nets are arrays (psum[r][c], ...): each element its own net, so a simulator wakes only the\nreaders of what changed.',
    );
    const psum = m.wireArray('psum', ACCW, [ROWS.plus(1), COLS], { signed: true, doc: 'partial sum entering PE(r, c); row ROWS: the column sums' });
    const prod = PW ? m.wireArray('prod', PW, [ROWS, COLS], { signed: true, doc: 'registered product of PE(r, c)' }) : null;
    const lane = LW ? m.wireArray('lane', LW, [ROWS, COLS], { signed: true, doc: 'ReCoN lane value for PE(r, c)' }) : null;
    m.generate('g_edge', 'c', COLS, (col, s) => {
      s.assign(psum.at(0, col), Const.zero(ACCW, true));
      s.assign(colSum.lane(col, ACCW), psum.at(ROWS, col).asUnsigned());
    });

    m.generate('g_row', 'r', ROWS, (r, row) => {
      row.generate('g_col', 'c', COLS, (col, cell) => {
        const conns: Record<string, Expr> = {
          clk,
          rst_n: rstN,
          w_load: wRowLoadQ.bit(r),
          w_in: wRowDataQ.lane(col, WBITS).asSigned(),
          w_swap: wSwap.bit(r),
          a_in: aRow.lane(r, ABITS).asSigned(),
          psum_in: psum.at(r, col),
          psum_out: psum.at(Idx.of(r).plus(1), col),
        };
        const params = { WBITS, ABITS, ACCW, ...(LW ? { LANEW: LW } : {}) };
        if (lane && prod) {
          conns.prod_out = prod.at(r, col);
          conns.lane_in = lane.at(r, col);
        }
        cell.instance('u_pe', peDef, conns, params);
      });
      if (slice && LANES && LW && CFGW && cfgRowDataQ && UBLOCKS && prod && lane && PW) {
        row.comment("One ReCoN slice per μB: it takes and returns its μB's lanes as flat buses, lane 0 in the LSBs.");
        row.generate('g_ublock', 'u', UBLOCKS, (u, ub) => {
          const prods = ub.wire('prods', LANES.times(PW), { doc: 'products of this μB, lane 0 in the LSBs' });
          const lanesOut = ub.wire('lanes', LANES.times(LW), { doc: 'lane values of this μB' });
          ub.generate('g_lane', 'i', LANES, (i, ln) => {
            const col = Idx.of(u).times(LANES).plus(i);
            ln.assign(prods.lane(i, PW), prod.at(r, col).asUnsigned());
            ln.assign(lane.at(r, col), lanesOut.lane(i, LW).asSigned());
          });
          ub.instance('u_recon', slice, {
            clk,
            rst_n: rstN,
            cfg_in: cfgRowDataQ.slice(Idx.of(u).times(LANES).times(CFGW), LANES.times(CFGW)),
            cfg_load: wRowLoadQ.bit(r),
            cfg_swap: swapPipe.bit(r),
            prods,
            lanes: lanesOut,
          }, { LANES, PW, CFGW, LW });
        });
      }
    });
  });
}
