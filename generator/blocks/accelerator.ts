import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { Const, concat, mux, lit, type Signal } from '../dsl/expr.ts';
import { Dim } from '../dsl/dim.ts';
import { Layout } from '../dsl/struct.ts';
import { accelQuantizerOptions, accelTopName, type AccelConfig } from '../accel-config.ts';
import { peArray } from './pe-array.ts';
import { controller, DIM_BITS } from './controller.ts';
import { postArray } from './post-array.ts';
import { decodeUnit } from './decode.ts';
import { skidBuffer } from './skid-buffer.ts';

/** Bits of an E8M0 scale code. */
const E8M0_BITS = 8;

/** The flags of a beat, as the controller outputs and the post-array unit inputs name them. */
const BEAT_FLAGS = ['first_ktile', 'last_ktile', 'first_group', 'last_group', 'last_beat'] as const;
type BeatFlag = (typeof BEAT_FLAGS)[number];

export type BeatMetaField = 'valid' | BeatFlag | 'addr' | 'sx';

/**
 * What travels with a beat from the controller to the post-array unit,
 * through the ALAT + 1 stage delay line (ALAT: the PE array's latency): valid in the LSBs, the K-tile and
 * group flags, the row address (AW bits), then the S_x code.
 */
export function beatMetaLayout(addrBits: Dim | number): Layout<BeatMetaField> {
  return new Layout<BeatMetaField>('beat metadata', [
    { name: 'valid', width: 1, doc: 'a real beat, not a bubble' },
    ...BEAT_FLAGS.map((name) => ({ name, width: 1 })),
    { name: 'addr', width: addrBits, doc: 'row within the M-chunk' },
    { name: 'sx', width: E8M0_BITS, doc: 'E8M0 code of the activation group scale' },
  ]);
}

/** An activation beat on a_data: ROWS codes of ABITS bits (row 0 in the LSBs), then the E8M0 S_x code. */
export function activationBeatLayout(codeBits: Dim | number): Layout<'codes' | 'sx'> {
  return new Layout('activation beat', [
    { name: 'codes', width: codeBits, doc: 'one activation code per row' },
    { name: 'sx', width: E8M0_BITS, doc: 'E8M0 code of the group scale' },
  ]);
}

/** The accelerator's blocks, each built from the one resolved configuration (also what `--top <block>` builds alone). */
export interface AcceleratorBlocks {
  array: ModuleDef;
  controller: ModuleDef;
  decode: ModuleDef;
  post: ModuleDef;
  /** the activation input stage (a skid buffer) */
  aInput: ModuleDef;
}

export function acceleratorBlocks(c: AccelConfig): AcceleratorBlocks {
  return {
    array: peArray(c.array),
    controller: controller({ rows: c.rows, cols: c.cols, group: c.group, depth: c.depth, revisitGap: c.timing.post.revisitGap }),
    decode: decodeUnit({
      rows: c.rows,
      cols: c.cols,
      wbits: c.wbits,
      ublock: c.ublock,
      topology: c.recon,
      outliers: c.outliers,
      rate: c.decodeRate,
      // the same quantizer options the weights are made with (one source)
      quant: (({ inlier: _i, ublockSize: _u, recon: _r, ...rest }) => rest)(accelQuantizerOptions(c)),
    }),
    post: postArray(c.post),
    aInput: skidBuffer({ width: activationBeatLayout(c.rows * c.abits).width.value }),
  };
}

/**
 * The accelerator top: decode unit, controller, PE array and post-array unit,
 * with valid/ready streams for weights, activations and results and a
 * start/busy/done/error control interface (docs/ARCHITECTURE.md).
 *
 * The only logic here is glue: the activation stream passes a skid buffer
 * first, so that a_valid and a_data end at flip-flops and a_ready comes
 * from a flip-flop (the beat-fire logic fans out to every activation bit; fed
 * from the port it was the 16x16 plain build's critical path, 0.8 ns of input
 * delay included); activations enter the array only on a fired
 * beat (zeros otherwise, so bubbles add nothing), and each beat's metadata
 * rides an ALAT + 1 stage delay line so it reaches the post-array unit
 * together with that beat's column sums. Results leave from the post-array
 * unit's output register (y_data is a flip-flop output): the rows wait in its
 * fbuf, not in a FIFO of their own.
 */
export function accelerator(c: AccelConfig): ModuleDef {
  const { array: arrayDef, controller: ctrlDef, decode: decodeDef, post: postDef, aInput: aInputDef } = acceleratorBlocks(c);
  const addrBits = Math.max(1, Math.log2(c.depth));
  const config = {
    block: 'accelerator',
    rows: c.rows,
    cols: c.cols,
    wbits: c.wbits,
    abits: c.abits,
    ublock: c.ublock,
    group: c.group,
    recon: c.outliers ? c.recon : 'none',
    outliers: c.outliers,
    depth: c.depth,
    outlierFormat: c.outliers ? c.msq.outlier : 'none',
    xbits: c.outliers ? c.msq.xbits : 0,
    guardBits: c.reconCfg?.guardBits ?? 0,
    maxShift: c.outliers ? c.msq.maxShift : 0,
    widths: c.widths,
  };
  return defineModule(accelTopName(c), `MicroScopiQ accelerator: ${c.rows}x${c.cols} PE array, W${c.wbits}A${c.abits}, ${c.outliers ? `${c.recon} ReCoN, μB ${c.ublock}` : 'plain MX-INT'}`, config, (m) => {
    const ROWS = m.param('ROWS', c.rows, 'PE rows: K per tile');
    const COLS = m.param('COLS', c.cols, 'PE columns: N per tile');
    const WBITS = m.param('WBITS', c.wbits, 'weight slot width');
    const ABITS = m.param('ABITS', c.abits, 'activation width');
    const CFGW = c.reconCfg ? m.param('CFGW', c.widths.CFGW, 'bits of one ReCoN lane setting') : null;
    const ACCW = m.param('ACCW', c.widths.ACCW, 'column-sum width');
    const ALAT = m.param('ALAT', c.timing.array, 'PE array latency: a beat presented in cycle t has its column sums after the edge of t + ALAT');
    const AW = m.param('AW', addrBits, 'row address width within an M-chunk: log2(depth), at least 1');
    const metaLayout = beatMetaLayout(AW);
    const METAW = m.param('METAW', metaLayout.width.value, 'beat metadata: valid, flags, row address, S_x code');
    const clk = m.clock();
    const rstN = m.resetN();
    // control and status
    const start = m.input('start', 1, { doc: 'start a GEMM (while idle): samples dim_m, dim_k, dim_n' });
    const dimM = m.input('dim_m', DIM_BITS, { doc: 'M: activation rows' });
    const dimK = m.input('dim_k', DIM_BITS, { doc: 'K: inputs, a multiple of the group size' });
    const dimN = m.input('dim_n', DIM_BITS, { doc: 'N: outputs' });
    const busy = m.output('busy', 1, { doc: 'a GEMM is running' });
    const done = m.output('done', 1, { doc: 'the last GEMM finished (until the next start)' });
    const error = m.output('error', 1, { doc: 'the last start was refused' });
    // streams
    const beatLayout = activationBeatLayout(ROWS.times(ABITS));
    const wData = m.input('w_data', 32, { doc: 'packed weight stream (docs/ARCHITECTURE.md)' });
    const wValid = m.input('w_valid', 1);
    const wReady = m.output('w_ready', 1);
    const aData = m.input('a_data', beatLayout.width, { doc: 'activation beat: ROWS codes, then the E8M0 group scale' });
    const aValid = m.input('a_valid', 1);
    const aReady = m.output('a_ready', 1);
    const yData = m.output('y_data', COLS.times(32), { doc: 'one result row: COLS binary32 values' });
    const yValid = m.output('y_valid', 1);
    const yReady = m.input('y_ready', 1);
    const BEAT = m.struct('BEAT', beatLayout);
    const META = m.struct('META', metaLayout, { width: METAW });

    const wire = (name: string, width: number | Dim, doc?: string) => m.wire(name, width, { doc });
    m.comment(
      '---- Activation input stage: a skid buffer (2 beats, every output a flip-flop) ----\n' +
        'a_valid and a_data end at its registers and a_ready is a register of its own: no port reaches the\n' +
        'beat-fire logic, which gates every activation bit into the array. One cycle of latency, full rate.',
    );
    const aInData = wire('a_in_data', beatLayout.width, 'the oldest activation beat in the input stage (used only when it fires)');
    const aInValid = wire('a_in_valid', 1, 'the input stage holds a beat');
    const aInReady = wire('a_in_ready', 1, 'the controller takes it (the beat fires)');
    m.instance('u_a_in', aInputDef, {
      clk,
      rst_n: rstN,
      in_data: aData,
      in_valid: aValid,
      in_ready: aReady,
      out_data: aInData,
      out_valid: aInValid,
      out_ready: aInReady,
    });

    m.comment('---- Controller: sequencing, beats, tile swaps, status ----');
    const beatFire = wire('beat_fire', 1, 'a beat enters the array');
    const tileSwap = wire('tile_swap', 1);
    const cmdValid = wire('cmd_valid', 1);
    const cmdReady = wire('cmd_ready', 1);
    const cmdScales = wire('cmd_scales', 1);
    const tileLoaded = wire('tile_loaded', 1);
    const flags = Object.fromEntries(BEAT_FLAGS.map((n) => [n, wire(n, 1)])) as Record<BeatFlag, Signal>;
    const beatAddr = wire('beat_addr', AW);
    const resultPop = m.let('result_pop', yValid.and(yReady), 'a result row leaves');
    const rowFree = wire('row_free', 1, 'the post-array unit read a finished row out of fbuf');
    const rowFreeAddr = wire('row_free_addr', AW, 'the row read out');
    const ctrlError = wire('ctrl_error', 1, 'the controller refused the problem');
    const busyW = wire('busy_w', 1);
    m.assign(busy, busyW);
    m.instance('u_ctrl', ctrlDef, {
      clk,
      rst_n: rstN,
      start,
      dim_m: dimM,
      dim_k: dimK,
      dim_n: dimN,
      a_valid: aInValid,
      cmd_ready: cmdReady,
      tile_loaded: tileLoaded,
      result_pop: resultPop,
      row_free: rowFree,
      row_free_addr: rowFreeAddr,
      busy: busyW,
      done,
      error: ctrlError,
      a_ready: aInReady,
      beat_fire: beatFire,
      tile_swap: tileSwap,
      cmd_valid: cmdValid,
      cmd_scales: cmdScales,
      ...flags,
      beat_addr: beatAddr,
    });

    m.comment('---- Decode unit: weight words to rows of PE operands and ReCoN settings, group scales ----');
    const rowData = wire('w_row_data', COLS.times(WBITS), 'PE operands of one row, from the decode unit');
    const rowLoad = wire('w_row_load', ROWS);
    const cfgRow = CFGW ? wire('cfg_row_data', COLS.times(CFGW), 'ReCoN lane settings of one row') : null;
    const scaleData = wire('scale_data', COLS.times(E8M0_BITS), 'group scales of the columns');
    const scaleValid = wire('scale_valid', 1);
    const scaleReady = wire('scale_ready', 1);
    m.instance('u_decode', decodeDef, {
      clk,
      rst_n: rstN,
      w_data: wData,
      w_valid: wValid,
      w_ready: wReady,
      cmd_valid: cmdValid,
      cmd_ready: cmdReady,
      cmd_scales: cmdScales,
      w_row_data: rowData,
      ...(cfgRow ? { cfg_row_data: cfgRow } : {}),
      w_row_load: rowLoad,
      scale_data: scaleData,
      scale_valid: scaleValid,
      scale_ready: scaleReady,
      tile_loaded: tileLoaded,
    });

    m.comment('---- PE array: activations only on a fired beat (zero on bubbles, which then add nothing) ----');
    const codes = BEAT.field(aInData, 'codes');
    const aBeat = m.let('a_beat', mux(beatFire, codes, Const.zero(codes.width)), 'zero on bubbles');
    const colSum = wire('col_sum', COLS.times(ACCW));
    m.instance('u_array', arrayDef, {
      clk,
      rst_n: rstN,
      w_row_data: rowData,
      ...(cfgRow ? { cfg_row_data: cfgRow } : {}),
      w_row_load: rowLoad,
      a_in: aBeat,
      tile_swap: tileSwap,
      col_sum: colSum,
    });

    m.comment(
      '---- Beat metadata delay line ----\n' +
        'The column sums of a beat presented in cycle t are in the array\'s output registers after the edge of\n' +
        'cycle t + ALAT, and the post-array unit consumes them at the next edge: ALAT + 1 stages.',
    );
    const metaIn = wire('meta_in', METAW, 'metadata of the beat entering the array');
    META.assign(m, metaIn, {
      valid: beatFire,
      ...flags,
      addr: beatAddr,
      sx: BEAT.field(aInData, 'sx'),
    });
    const metaPipe = m.reg('meta_pipe', ALAT.plus(1).times(METAW), { doc: 'metadata of the beats inside the array, newest in the LSBs' });
    m.update(metaPipe, concat(metaPipe.slice(0, ALAT.times(METAW)), metaIn));
    const metaOut = m.let('meta_out', metaPipe.lane(ALAT, METAW), 'metadata of the beat whose column sums leave the array');

    m.comment('---- Post-array unit: group accumulation and FP32; the result rows leave from its output register ----');
    m.instance('u_post', postDef, {
      clk,
      rst_n: rstN,
      col_sum: colSum,
      beat_valid: META.field(metaOut, 'valid'),
      ...Object.fromEntries(BEAT_FLAGS.map((n) => [n, META.field(metaOut, n)])),
      beat_addr: META.field(metaOut, 'addr'),
      sx: META.field(metaOut, 'sx'),
      scale_data: scaleData,
      scale_valid: scaleValid,
      scale_ready: scaleReady,
      row_data: yData,
      row_valid: yValid,
      row_ready: yReady,
      row_free: rowFree,
      row_free_addr: rowFreeAddr,
    });
    m.assign(error, ctrlError);
  });
}
