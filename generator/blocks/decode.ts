import { defineModule, type ModuleBuilder, type ModuleDef, type ScopeBuilder } from '../dsl/module.ts';
import { Const, ParamConst, concat, lit, mux, type Expr, type Signal } from '../dsl/expr.ts';
import { Idx, type Genvar } from '../dsl/index.ts';
import { Dim } from '../dsl/dim.ts';
import { Layout } from '../dsl/struct.ts';
import type { When } from '../dsl/comb.ts';
import { InputError } from '../../common/errors.ts';
import { ceilLog2 } from '../../common/bits.ts';
import { countFieldBits, resolveDecode, shiftFieldBits, WORD_BITS, type DecodeConfig, type DecodeParams } from '../../quant/hwmodel/decode.ts';
import { laneSettingLayout } from './recon-config.ts';
import { reconTopology } from './recon-topologies.ts';

export { shiftFieldBits, resolveDecode, type DecodeConfig, type DecodeParams };

/** Validates a configuration (InputError naming the value) and returns its derived parameters. */
export function checkDecodeConfig(c: DecodeConfig): DecodeParams {
  const p = resolveDecode(c);
  if (p.outliers && p.xbits > p.shiftBits) {
    // The bits of X above the shift field could only add multiples of 2^SHW, which
    // the modular shift sum drops; rather than leave them unread, refuse the setup.
    throw new InputError(
      `--xbits ${p.xbits} is wider than the ${p.shiftBits}-bit lane shift field (--max-shift ${p.maxShift}): allowed --xbits 0..${p.shiftBits} here; raise --max-shift or lower --xbits`,
    );
  }
  return p;
}

export function decodeModuleName(c: DecodeConfig): string {
  const p = resolveDecode(c);
  const base = `msq_decode_r${p.rows}c${p.cols}_w${p.wbits}_b${p.lanes}${p.rate === 'half' ? '_h2' : ''}`;
  if (!p.outliers) return `${base}_plain`;
  const cTag = p.shiftConst < 0 ? `cm${-p.shiftConst}` : `c${p.shiftConst}`;
  return `${base}_${reconTopology(p.topology).tag}_e${p.ebits}m${p.mbits}_x${p.xbits}${cTag}_s${p.shiftBits}`;
}

/** An unsigned value brought to `w` bits: zero-extended, or its low bits (a named signal). */
function resize(s: Signal, w: Dim): Expr {
  if (s.width.value === w.value) return s;
  return s.width.value < w.value ? s.zext(w) : s.slice(0, w);
}

/** The outlier build's parameters (decodeUnit declares them). */
interface OutlierParams {
  XBITS: Dim | null;
  PB: Dim;
  PFW: Dim;
  EBITS: Dim;
  MBITS: Dim;
  SPLIT: Dim;
  SHW: Dim;
  CFGW: Dim;
  SHIFT_C: Dim;
}

/** What the head of the bit buffer says about its record: length and layout (stage 1). */
interface RecordLayout {
  /** record length in bits */
  recLen: Signal;
  /** pair a exists (NP > a) */
  pairValid: Signal;
  /** X, then B/2 pair entries (entries a >= NP are not valid) */
  pairFields: Signal;
  /** the B slot codes, slot 0 in the LSBs */
  codes: Signal;
  /** one-hot pair count NP = n, n < B/2 (all clear: B/2 pairs) */
  npIs: Signal;
  /** REC_BITS_n: the length of a record with n pairs, n = 0..B/2 */
  lengths: Dim[];
  /** parameters: most pairs per record, bits of a pair entry */
  PAIRS: Dim;
  PAIRW: Dim;
}

/**
 * Stage 1 of an outlier build: the record at the buffer head, its length and
 * layout from the unary pair count (a multiplexer over NP = 0..B/2 of
 * constant bit ranges).
 */
function recordLayout(m: ModuleBuilder, p: DecodeParams, rec: Signal, o: OutlierParams, FW: Dim, CODEW: Dim): RecordLayout {
  const HALF = p.lanes / 2;
  const PAIRS = m.param('PAIRS', HALF, 'most pairs per record: LANES / 2');
  const PAIRW = m.localparam('PAIRW', o.PB.plus(o.PFW), 'bits of a pair entry: slot and partner field');
  const REGION = m.localparam('PAIR_REGION', o.XBITS ? o.XBITS.plus(PAIRS.times(PAIRW)) : PAIRS.times(PAIRW), 'X and B/2 pair entries');
  const head: Dim[] = [];
  const len: Dim[] = [];
  for (let np = 0; np <= HALF; np++) {
    const count = Dim.of(countFieldBits(p, np));
    const pairs = np === 0 ? Dim.of(0) : (o.XBITS ?? Dim.of(0)).plus(PAIRW.times(np));
    head.push(m.localparam(`HEAD_BITS_${np}`, count.plus(pairs), `bits before the codes of a record with ${np} pair${np === 1 ? '' : 's'}`));
    len.push(m.localparam(`REC_BITS_${np}`, head[np]!.plus(CODEW), `length of a record with ${np} pair${np === 1 ? '' : 's'}`));
  }

  m.comment('NP = the run of ones at bit 0 (unary, at most B/2). np_is[n]: exactly n pairs (n < B/2, a zero\nends the count); none set means B/2 pairs.');
  const npIs = m.wire('np_is', PAIRS, { doc: 'one-hot pair count NP = n, n < B/2 (all clear: NP = B/2)' });
  for (let k = 0; k < HALF; k++) m.assign(npIs.bit(k), rec.slice(0, k + 1).eq(lit((1 << k) - 1, k + 1)));
  const pairValid = m.wire('pair_valid', PAIRS, { doc: 'pair a exists: NP > a (count bits 0..a all one)' });
  for (let a = 0; a < HALF; a++) m.assign(pairValid.bit(a), rec.slice(0, a + 1).eq(lit((1 << (a + 1)) - 1, a + 1)));

  m.comment('The layout for each pair count: the count field, X and the NP pairs, then the B codes.');
  const recLen = m.logic('rec_len', FW, { doc: 'record length' });
  const pairFields = m.logic('pair_fields', REGION, { doc: 'X, then B/2 pair entries; entries a >= NP are not valid' });
  const codes = m.logic('codes', CODEW, { doc: 'the B slot codes, slot 0 in the LSBs' });
  const layoutOf = (np: number) => ({
    len: new ParamConst(len[np]!, FW),
    fields: rec.slice(countFieldBits(p, np), REGION),
    codes: rec.slice(head[np]!, CODEW),
  });
  m.comb((b) => {
    const full = layoutOf(HALF);
    b.default(recLen, full.len);
    b.default(pairFields, full.fields);
    b.default(codes, full.codes);
    let chain: When | null = null;
    for (let np = 0; np < HALF; np++) {
      const arm = () => {
        const l = layoutOf(np);
        b.set(recLen, l.len);
        if (l.fields.render() !== full.fields.render()) b.set(pairFields, l.fields);
        b.set(codes, l.codes);
      };
      chain = chain ? chain.elsewhen(npIs.bit(np), arm) : b.when(npIs.bit(np), arm);
    }
  });
  return { recLen, pairValid, pairFields, codes, npIs, lengths: len, PAIRS, PAIRW };
}

interface RecordNets {
  /** stage-1 registers of the record: its layout */
  layout: Pick<RecordLayout, 'pairValid' | 'pairFields' | 'codes' | 'PAIRS' | 'PAIRW'>;
  ubOps: Signal;
  ubCfg: Signal;
  o: OutlierParams;
  WBITS: Dim;
  LANES: Dim;
}

/**
 * Stage 2 of an outlier build: per pair the outlier code's operands, partner
 * and shift, then per slot its operand and lane setting (ub_ops, ub_cfg), from
 * the record registered by stage 1.
 */
function decodeRecordFields(m: ModuleBuilder, p: DecodeParams, n: RecordNets): void {
  const { layout, ubOps, ubCfg, o, WBITS, LANES } = n;
  const { pairValid, pairFields, codes, PAIRS, PAIRW } = layout;
  const xField = o.XBITS ? m.let('x_field', pairFields.slice(0, o.XBITS), "the μB's outlier exponent field X") : null;
  const pairList = o.XBITS ? m.let('pair_list', pairFields.slice(o.XBITS, PAIRS.times(PAIRW)), 'the B/2 pair entries') : pairFields;
  const PAIR = m.struct(
    'PAIR',
    new Layout('pair entry', [
      { name: 'slot', width: o.PB, doc: 'outlier slot o' },
      { name: 'partner', width: o.PFW, doc: reconTopology(p.topology).partnerFieldDoc },
    ]),
    { width: PAIRW },
  );

  m.comment(
    'Per pair: locate its slots, join the code halves, decode M, hi, lo and the shift. The results are\n' +
      'stored bit-major (bit k * PAIRS + a: bit k of pair a) so each slot selects them with AND-OR trees.',
  );
  const pairHiOp = m.wire('pair_hi_op', PAIRS.times(WBITS), { doc: 'bit-major: s * hi, the operand of the outlier slot' });
  const pairLoOp = m.wire('pair_lo_op', PAIRS.times(WBITS), { doc: 'bit-major: s * lo, the operand of the partner slot' });
  const pairPartner = m.wire('pair_partner', PAIRS.times(o.PB), { doc: 'bit-major: the partner slot' });
  const pairShift = m.wire('pair_shift', PAIRS.times(o.SHW), { doc: 'bit-major: the merge shift' });
  const slotIsO = m.wire('slot_is_o', LANES.times(PAIRS), { doc: 'slot-major: bit i * PAIRS + a: pair a has its outlier in slot i' });
  const slotIsP = m.wire('slot_is_p', LANES.times(PAIRS), { doc: 'slot-major: bit i * PAIRS + a: pair a has its partner in slot i' });
  /** bit k of `value` to bit k * PAIRS + a of `bus`, for every k */
  const spread = (s: ScopeBuilder, label: string, a: Genvar, bits: Dim, pairs: [Signal, Signal][]) =>
    s.generate(label, 'k', bits, (gk, t) => {
      for (const [value, bus] of pairs) t.assign(bus.bit(Idx.of(gk).times(PAIRS).plus(a)), value.bit(gk));
    });
  m.generate('g_pair', 'a', PAIRS, (ga, s) => {
    const oSlot = s.let('o_slot', PAIR.field(pairList, 'slot', ga), 'outlier slot');
    const pField = s.let('p_field', PAIR.field(pairList, 'partner', ga), reconTopology(p.topology).partnerFieldDoc);
    const pSlot = reconTopology(p.topology).partnerSlot(s, oSlot, pField, o.PB);
    const fp = s.let('fp_code', concat(codes.laneAt(oSlot, WBITS), codes.laneAt(pSlot, WBITS)), 'the 2b-bit FP code: upper half in slot o, lower in slot p');
    const sign = s.let('fp_sign', fp.bit(WBITS.times(2).minus(1)));
    const exp = s.let('fp_exp', fp.slice(o.MBITS, o.EBITS));
    const man = s.let('fp_man', fp.slice(0, o.MBITS));
    const normal = s.let('fp_normal', exp.ne(Const.zero(o.EBITS)), 'e > 0: the implicit bit is set');
    const sig = s.let('sig', concat(normal, man), 'M = (e > 0 ? 2^MBITS : 0) + m');
    s.comment('hi and lo are at most 2^(b-1) - 1 (the quantizer\'s format choice), so s * hi and s * lo are\nordinary b-bit signed operands.');
    const hiMag = s.let('hi_mag', sig.slice(o.SPLIT, o.MBITS.plus(1).minus(o.SPLIT)).zext(WBITS), 'hi = M >> L');
    const loMag = s.let('lo_mag', sig.slice(0, o.SPLIT).zext(WBITS), 'lo = M mod 2^L');
    const hiOp = s.let('hi_op', mux(sign, hiMag.neg(), hiMag), 's * hi');
    const loOp = s.let('lo_op', mux(sign, loMag.neg(), loMag), 's * lo');
    s.comment('shift = max(e, 1) + X + c, computed modulo 2^SHW: every legal shift is below 2^SHW, so the\nwrapped sum is exact.');
    const expEff = s.wire('exp_eff', o.SHW, { doc: 'max(e, 1), modulo 2^SHW' });
    s.assign(expEff, mux(normal, resize(exp, o.SHW), lit(1, o.SHW)));
    const withX = xField ? expEff.plus(resize(xField, o.SHW)) : expEff;
    const shift = s.let('shift', withX.plus(new ParamConst(o.SHIFT_C, o.SHW)), 'the merge shift');
    spread(s, 'g_op', ga, WBITS, [[hiOp, pairHiOp], [loOp, pairLoOp]]);
    spread(s, 'g_partner', ga, o.PB, [[pSlot, pairPartner]]);
    spread(s, 'g_shift', ga, o.SHW, [[shift, pairShift]]);
    const oMark = s.let('o_mark', mux(pairValid.bit(ga), lit(1, LANES).shl(oSlot), Const.zero(LANES)), 'one-hot outlier slot (none if the pair is absent)');
    const pMark = s.let('p_mark', mux(pairValid.bit(ga), lit(1, LANES).shl(pSlot), Const.zero(LANES)), 'one-hot partner slot');
    s.generate('g_mark', 'i', LANES, (gi, t) => {
      const k = Idx.of(gi).times(PAIRS).plus(ga);
      t.assign(slotIsO.bit(k), oMark.bit(gi));
      t.assign(slotIsP.bit(k), pMark.bit(gi));
    });
  });

  m.comment(
    'Per slot: its own code, unless a pair marks it. A legal record marks a slot at most once; the\n' +
      'OR over pairs keeps illegal ones deterministic (mode 3, reserved, for a slot marked both ways).',
  );
  const CFG = m.struct('CFG', laneSettingLayout(o.PB, o.SHW), { width: o.CFGW });
  m.generate('g_slot', 'i', LANES, (gi, s) => {
    const code = s.let('slot_code', codes.lane(gi, WBITS), 'the code stored in this slot');
    const hitO = s.let('hit_o', slotIsO.slice(Idx.of(gi).times(PAIRS), PAIRS), 'pairs with their outlier here');
    const hitP = s.let('hit_p', slotIsP.slice(Idx.of(gi).times(PAIRS), PAIRS), 'pairs with their partner here');
    const isOut = s.let('is_outlier', hitO.any());
    const isPru = s.let('is_pruned', hitP.any());
    const pairOp = s.wire('pair_op', WBITS, { doc: 's * hi here if an outlier, s * lo if a partner' });
    const partner = s.wire('slot_partner', o.PB, { doc: "the partner of this slot's outlier" });
    const shift = s.wire('slot_shift', o.SHW, { doc: "the shift of this slot's outlier" });
    const column = (bus: Signal, k: Genvar) => bus.slice(Idx.of(k).times(PAIRS), PAIRS);
    s.generate('g_op', 'k', WBITS, (gk, t) => t.assign(pairOp.bit(gk), hitO.and(column(pairHiOp, gk)).or(hitP.and(column(pairLoOp, gk))).any()));
    s.generate('g_partner', 'k', o.PB, (gk, t) => t.assign(partner.bit(gk), hitO.and(column(pairPartner, gk)).any()));
    s.generate('g_shift', 'k', o.SHW, (gk, t) => t.assign(shift.bit(gk), hitO.and(column(pairShift, gk)).any()));
    s.assign(ubOps.lane(gi, WBITS), mux(isOut.or(isPru), pairOp, code));
    CFG.assign(s, ubCfg, { mode: concat(isPru, isOut), partner, shift }, gi);
  });
}

/**
 * The block-decode unit: weight words in, PE-array rows out.
 *
 * A BUFW-bit buffer is refilled with 32-bit words (valid/ready) and holds the
 * stream from its LSB; each cycle it gives up either one scale word (scale
 * phase of a tile that starts a group) or one μB record, whose length follows
 * from the unary pair count at the buffer head. The record's layout is fixed
 * once NP is known, so every field is a multiplexer over NP = 0..B/2 of
 * constant bit ranges. Each pair decodes its outlier code (upper half in slot
 * o, lower half in slot p): M = {e != 0, m}, hi = M >> L, lo = M mod 2^L,
 * operands s·hi and s·lo, shift = max(e, 1) + X + c (mod 2^SHW). A row shift
 * register gathers C/B μBs; the full row is registered onto w_row_data /
 * cfg_row_data with a one-cycle w_row_load pulse. At rate half (DECODE_RATES)
 * the record test is registered: a record at most every second cycle. The cycle model is
 * DecodeModel in quant/hwmodel/decode.ts; docs/ARCHITECTURE.md has the timing.
 */
export function decodeUnit(c: DecodeConfig): ModuleDef {
  const p = checkDecodeConfig(c);
  const B = p.lanes;
  const rateDoc = p.rate === 'half' ? ', at most one record per two cycles (record test registered)' : '';
  const doc = p.outliers
    ? `block-decode unit: MicroScopiQ records (${p.topology}, μB ${B}, W${p.wbits}, E${p.ebits}M${p.mbits} outliers) to ${p.rows} rows of ${p.cols} PE operands and ReCoN lane settings${rateDoc}`
    : `block-decode unit (plain MX-INT): ${B}-code records to ${p.rows} rows of ${p.cols} PE operands${rateDoc}`;
  const config = {
    block: 'decode', rows: p.rows, cols: p.cols, wbits: p.wbits, ublock: B, outliers: p.outliers,
    // the record rate only when it is not the default, so full-rate RTL stays as it was (bench --resume stamps)
    ...(p.rate === 'half' ? { rate: p.rate } : {}),
    ...(p.outliers ? { topology: p.topology, outlier: p.msq.outlier, xbits: p.xbits, shiftConst: p.shiftConst, guardBits: p.guardBits, maxShift: p.maxShift, shiftBits: p.shiftBits } : {}),
  };
  return defineModule(decodeModuleName(c), doc, config, (m) => {
    const ROWS = m.param('ROWS', p.rows, 'PE rows: records per μB column of a tile');
    const COLS = m.param('COLS', p.cols, 'PE columns: operands per row');
    const WBITS = m.param('WBITS', p.wbits, 'slot code and operand width b');
    const LANES = m.param('LANES', B, 'μB size B: slots per record');
    const RECMAX = m.param('RECMAX', p.recordMax, p.outliers ? 'longest record (B/2 pairs) in bits' : 'record bits: LANES * WBITS');
    const BUFW = m.param('BUFW', p.bufBits, 'bit buffer: RECMAX rounded up to words, plus two words');
    const FW = m.param('FW', p.fillBits, 'width of the fill count (0..BUFW)');
    const o = p.outliers
      ? {
          XBITS: p.xbits > 0 ? m.param('XBITS', p.xbits, "width of a record's X field") : null,
          PB: m.param('PB', p.slotBits, 'slot index width: log2(LANES)'),
          PFW: m.param('PFW', p.partnerFieldBits, `partner field: ${reconTopology(p.topology).partnerFieldDoc}`),
          EBITS: m.param('EBITS', p.ebits, 'outlier exponent field bits'),
          MBITS: m.param('MBITS', p.mbits, 'outlier mantissa field bits'),
          SPLIT: m.param('SPLIT', p.split, 'L = WBITS - 1: M = hi * 2^L + lo'),
          SHW: m.param('SHW', p.shiftBits, 'lane shift field width'),
          CFGW: m.param('CFGW', p.cfgBits, 'lane setting: mode(2) + partner(PB) + shift(SHW)'),
          SHIFT_C: m.param('SHIFT_C', ((p.shiftConst % (1 << p.shiftBits)) + (1 << p.shiftBits)) % (1 << p.shiftBits), `shift constant c = ${p.shiftConst}, modulo 2^SHW`),
        }
      : null;

    m.clock();
    m.resetN();
    const WORDW = m.param('WORDW', WORD_BITS, 'bits of a stream word');
    const wData = m.input('w_data', WORDW, { doc: 'weight stream word' });
    const wValid = m.input('w_valid', 1, { doc: 'w_data holds a word' });
    const wReady = m.output('w_ready', 1, { doc: 'the buffer takes a word this cycle' });
    const cmdValid = m.input('cmd_valid', 1, { doc: 'decode one tile' });
    const cmdReady = m.output('cmd_ready', 1, { doc: 'the command queue is free' });
    const cmdScales = m.input('cmd_scales', 1, { doc: 'with cmd_valid: the tile starts with its group scales' });
    const wRowData = m.output('w_row_data', COLS.times(WBITS), { doc: 'PE operands of one row, column 0 in the LSBs' });
    const cfgRowData = o ? m.output('cfg_row_data', COLS.times(o.CFGW), { doc: 'ReCoN lane settings of one row, column 0 in the LSBs' }) : null;
    const wRowLoad = m.output('w_row_load', ROWS, { doc: 'one-hot, one cycle: load row r (rows in increasing order)' });
    const scaleData = m.output('scale_data', COLS.times(8), { doc: 'E8M0 group scales of a tile, column 0 in bits 7:0' });
    const scaleValid = m.output('scale_valid', 1, { doc: 'scale_data holds a tile\'s scales' });
    const scaleReady = m.input('scale_ready', 1, { doc: 'the consumer takes scale_data' });
    const tileLoaded = m.output('tile_loaded', 1, { doc: "one cycle, with the tile's last w_row_load" });

    m.comment(
      [
        'Three steps: a word register takes the stream; stage 1 (the bit buffer) finds the record at its head,',
        'its length and layout, and drops it; stage 2 decodes the registered record into B operands and lane',
        'settings and gathers the rows. Only stage 1 loops (the next head depends on this length), so its',
        'shifts are multiplexers over constant distances (the record lengths, a word) and one 5-bit shift',
        '(the padding at the end of a tile, in a cycle of its own).',
      ].join('\n'),
    );
    const wQ = m.reg('w_q', WORDW, { doc: 'the word taken from the stream, not yet in the buffer' });
    const wQv = m.reg('w_qv', 1, { doc: 'w_q holds a word' });
    const bitbuf = m.reg('bitbuf', BUFW, { doc: 'stream bits not yet decoded; bit 0 is the next stream bit' });
    const fill = m.reg('fill', FW, { doc: 'valid bits in bitbuf (bits above are zero)' });
    const padQ = m.reg('pad_q', 1, { doc: "this cycle drops the padding after a tile's last record" });
    const pendV = m.reg('pend_v', 1, { doc: 'a command waits (one-entry queue)' });
    const pendS = m.reg('pend_s', 1, { doc: 'the waiting command has scales' });
    const phase = m.fsm(
      'phase',
      { S_IDLE: 'no tile', S_SCALES: "the tile's scale words", S_RECORDS: "the tile's records" },
      { reset: 'S_IDLE', doc: 'what the unit decodes: nothing, scale words or records' },
    );
    const scaleQ = m.reg('scale_q', COLS.times(8), { doc: 'scale words, shifted in from the top' });
    const scaleV = m.reg('scale_v', 1, { doc: 'scale_q is complete and not yet taken' });
    const rowOh = m.reg('row_oh', ROWS, { doc: 'one-hot: the row the next full row of μBs goes to' });
    const rowOpsQ = m.reg('row_ops_q', COLS.times(WBITS), { doc: 'the row being loaded' });
    const rowCfgQ = o ? m.reg('row_cfg_q', COLS.times(o.CFGW), { doc: 'its lane settings' }) : null;
    const rowLoadQ = m.reg('row_load_q', ROWS, { doc: 'w_row_load' });
    const tileLoadedQ = m.reg('tile_loaded_q', 1, { doc: 'tile_loaded' });

    m.comment('---- Stage 1: the record at the buffer head, its length and (outlier builds) layout ----');
    const rec = m.let('rec', bitbuf.slice(0, RECMAX), 'the longest record that can start at the head');
    const CODEW = LANES.times(WBITS);
    const layout = o ? recordLayout(m, p, rec, o, FW, CODEW) : null;
    const recLen: Expr = layout ? layout.recLen : new ParamConst(RECMAX, FW);
    if (!layout) m.comment('Plain build: a record is its B codes, and each code is the operand.');

    m.comment('---- Stage 1: buffer, tile phases and commands ----');
    const ubCnt = p.ublocks > 1 ? m.reg('ub_cnt', ceilLog2(p.ublocks), { doc: `μB of the row being gathered (of COLS / LANES = ${p.ublocks})` }) : null;
    const scaleCnt = p.scaleWords > 1 ? m.reg('scale_cnt', ceilLog2(p.scaleWords), { doc: `scale words taken so far (of COLS / 4 = ${p.scaleWords})` }) : null;

    const TAKE_MAX = m.localparam('TAKE_MAX', BUFW.minus(WORDW), 'largest fill at which a word enters the buffer');
    const WORD_LSBS = m.localparam('WORD_LSBS', Dim.of(ceilLog2(WORD_BITS)), 'log2(WORDW): bit position within a word');
    const word = new ParamConst(WORDW, FW);
    const idle = m.let('idle', phase.is('S_IDLE'), 'no tile is being decoded');
    const inScales = m.let('in_scales', phase.is('S_SCALES'), 'the tile is still in its scale words');
    const inRecords = m.let('in_records', phase.is('S_RECORDS'), 'the tile is in its records');
    const cmdFire = m.let('cmd_fire', cmdValid.and(pendV.not()));
    const halfRate = p.rate === 'half';
    if (halfRate) {
      m.comment(
        [
          'Record rate half: the tests of the buffer are registers, so the record loop is one select and one',
          'shift. rec_fits_q: a cycle in the records that took nothing found the head record whole; the next',
          'cycle takes it (only words entered, above it, so it is still the head and still whole): at most one',
          'record per two cycles. np_is_q: that head\'s pair count. room_q and word_in_q: fill <= TAKE_MAX and',
          'fill >= WORDW, registered from fill_next (exact, as at full rate).',
        ].join('\n'),
      );
    }
    // the two buffer tests, of a fill value: of fill itself at full rate, registered from fill_next at half
    const wordInOf = (f: Expr) => f.ge(word);
    const roomOf = (f: Expr) => new ParamConst(TAKE_MAX, FW).ge(f);
    const wordInQ = halfRate ? m.reg('word_in_q', 1, { doc: 'fill >= WORDW: a whole scale word is buffered' }) : null;
    const roomQ = halfRate ? m.reg('room_q', 1, { doc: 'fill <= TAKE_MAX: a whole word fits above the bits held' }) : null;
    const wordIn = wordInQ ?? wordInOf(fill);
    const room = roomQ ?? roomOf(fill);
    const recFitsQ = halfRate ? m.reg('rec_fits_q', 1, { doc: 'the head record was whole in a cycle that took nothing: take it now' }) : null;
    const scaleGo = m.let('scale_go', inScales.and(padQ.not()).and(scaleV.not()).and(wordIn), 'take one scale word (the previous scale set must be gone)');
    const recGo = m.let('rec_go', inRecords.and(padQ.not()).and(recFitsQ ?? fill.ge(recLen)), 'the whole head record is buffered: take it');
    if (recFitsQ) m.update(recFitsQ, inRecords.and(padQ.not()).and(recGo.not()).and(fill.ge(recLen)));
    const ubLastW = ubCnt ? m.let('ub_last', ubCnt.eq(lit(p.ublocks - 1, ubCnt.width)), "the row's last μB") : null;
    const rowDone = m.let('row_done', ubLastW ? recGo.and(ubLastW) : recGo, 'a full row is taken');
    const tileDone = m.let('tile_done', rowDone.and(rowOh.bit(ROWS.minus(1))), "the tile's last record");
    const start = m.let('start', pendV.and(idle.or(tileDone)), 'the queued tile starts next cycle');
    const scaleLast = scaleCnt ? m.let('scale_last', scaleCnt.eq(lit(p.scaleWords - 1, scaleCnt.width))) : null;
    const scaleDone = m.let('scale_done', scaleLast ? scaleGo.and(scaleLast) : scaleGo, 'the last scale word');

    m.comment('A started tile begins with its scale words if its command asked for them, else with its records.');
    phase.next({
      S_IDLE: (go, b) => b.when(start, () => b.when(pendS, () => go('S_SCALES')).otherwise(() => go('S_RECORDS'))),
      S_SCALES: (go, b) => b.when(scaleDone, () => go('S_RECORDS')),
      S_RECORDS: (go, b) =>
        b
          .when(start, () => b.when(pendS, () => go('S_SCALES')).otherwise(() => go('S_RECORDS')))
          .elsewhen(tileDone, () => go('S_IDLE')),
    });

    m.comment(
      'The word register drains into the buffer when a whole word fits above the bits held now (a test\n' +
        'of registers only): w_ready and the insertion point come from flip-flops. The cycle that drops the\n' +
        'padding takes no word, so its shift starts from the buffer itself.',
    );
    const drain = m.let('drain', wQv.and(padQ.not()).and(room), 'w_q enters the buffer this cycle (not while the padding is dropped)');
    const canTake = m.let('can_take', wQv.not().or(drain), 'the word register is free or drains');
    const wTake = m.let('w_take', wValid.and(canTake));
    m.update(wQ, wData, { enable: wTake });
    m.update(wQv, wTake.or(wQv.and(drain.not())));
    m.comment(
      [
        'w_q is placed at bit fill = WORDW * q + r of the buffer (a whole word above the bits held; q < SLICES',
        'when it drains). It lands in word slices q and q + 1: slice q gets w_q << r, slice q + 1 the bits',
        'shifted out, w_q >> (WORDW - r) = (w_q >> 1) >> (WORDW - 1 - r) = (w_q >> 1) >> ~r (r has log2(WORDW)',
        'bits, and r = 0 gives none). The insertion point is kept in registers of its own, apart from fill',
        '(whose record logic would load it): r inverted for the low part, r for the high part (its shift',
        'takes ~r: no subtraction on the loop) and q inverted, so no register is a copy synthesis would',
        'merge, each shift select drives WORDW multiplexers instead of BUFW, and the slice choice is an',
        'AND-OR (q decoded beside the shifts).',
      ].join('\n'),
    );
    const SLICES = m.localparam('SLICES', Dim.of(p.bufBits / WORD_BITS), 'word slices of the buffer: BUFW / WORDW');
    const posLoN = m.reg('ins_lo_n', WORD_LSBS, { doc: 'NOT r = NOT fill mod WORDW: the shift of the low part' });
    const posHi = m.reg('ins_hi_r', WORD_LSBS, { doc: 'r = fill mod WORDW again: the high part shifts right by ~r' });
    const posWordN = m.reg('ins_word_n', FW.minus(WORD_LSBS), { doc: 'NOT q = NOT fill / WORDW: the slice of the low part' });
    const posWord = m.let('ins_word', lit(1, SLICES).shl(posWordN.not()), 'one-hot q (none set past the last slice), decoded beside the shifts');
    const insLo = m.let('ins_lo', wQ.shl(posLoN.not()), 'w_q << r: the low part, in slice q');
    const insHi = m.let('ins_hi_part', concat(lit(0, 1), wQ.slice(1, WORDW.minus(1))).shr(posHi.not()), 'w_q >> (WORDW - r): the bits of w_q above slice q, in slice q + 1 (none when r = 0)');
    const posWordUp = m.let('ins_word_up', concat(posWord.slice(0, SLICES.minus(1)), lit(0, 1)), 'one-hot q + 1: the slice of the high part');
    const placed = m.wire('placed', BUFW, { doc: 'w_q at bit fill of the buffer' });
    m.generate('g_slice', 'i', SLICES, (gi, t) =>
      t.assign(placed.lane(gi, WORDW), mux(posWord.bit(gi), insLo, Const.zero(WORDW)).or(mux(posWordUp.bit(gi), insHi, Const.zero(WORDW)))),
    );
    const merged = m.let('merged', bitbuf.or(mux(drain, placed, Const.zero(BUFW))), 'the buffer with w_q placed above its bits');

    m.comment(
      "Bits dropped this cycle: the padding (fill mod WORDW: the tile began on a word and words arrive\n" +
        'whole), a scale word, or the head record: its length is one of the REC_BITS constants.',
    );
    const padBits = m.let('pad_bits', fill.slice(0, WORD_LSBS), 'fill mod WORDW: the bits in the current word');
    m.comment("The padding's length has a register of its own (zero but in the cycle that drops it): the pad shifter\nwould load fill's bits, which the record logic needs early.");
    const padAmt = m.reg('pad_amt_q', WORD_LSBS, { doc: 'the padding to drop this cycle (fill mod WORDW), 0 but with pad_q' });
    const stepBits = m.let('step_bits', mux(padQ, padAmt.zext(FW), mux(scaleGo, word, mux(recGo, recLen, Const.zero(FW)))), 'bits dropped this cycle');
    m.comment(
      [
        'The buffer after this cycle: one of a few shifts, picked by one-hot selects that come from',
        'registers and the head record (all early), as one AND-OR level: the placed word arrives last and',
        'passes only that. The selects: the padding, a scale word, a record of n pairs (n = 0..B/2), nothing.',
      ].join('\n'),
    );
    const keepAll = m.let('keep_all', padQ.or(scaleGo).or(recGo).not(), 'nothing is dropped this cycle');
    const choices: [Expr, Expr][] = [
      [padQ, bitbuf.shr(padAmt)],
      [scaleGo, merged.shr(word)],
      [keepAll, merged],
    ];
    if (layout) {
      const half = p.lanes / 2;
      let npIs: Signal = layout.npIs;
      if (halfRate) {
        npIs = m.reg('np_is_q', layout.npIs.width, { doc: "np_is of the head record (taken the cycle after its test)" });
        m.update(npIs, layout.npIs);
      }
      const fullRec = m.let('rec_full', npIs.any().not(), `the head record has ${half} pairs`);
      for (let np = 0; np <= half; np++) {
        const sel = m.let(`drop_rec_${np}`, recGo.and(np < half ? npIs.bit(np) : fullRec), `take the head record, of ${np} pair${np === 1 ? '' : 's'}`);
        choices.push([sel, merged.shr(new ParamConst(layout.lengths[np]!, FW))]);
      }
    } else {
      choices.push([recGo, merged.shr(new ParamConst(RECMAX, FW))]);
    }
    const shifted = m.let(
      'shifted',
      choices.map(([sel, value]) => mux(sel, value, Const.zero(BUFW))).reduce((x, y) => x.or(y)),
      'the buffer after this cycle',
    );
    m.update(bitbuf, shifted);
    const fillNext = m.let('fill_next', fill.minus(stepBits).plus(mux(drain, word, Const.zero(FW))), 'fill after this cycle');
    m.update(fill, fillNext);
    if (roomQ) m.update(roomQ, roomOf(fillNext), { reset: 1 });
    if (wordInQ) m.update(wordInQ, wordInOf(fillNext));
    const fillNextLsbs = m.let('fill_next_lsbs', fillNext.slice(0, WORD_LSBS), 'r of the next cycle');
    m.update(posLoN, fillNextLsbs.not(), { reset: (1n << BigInt(ceilLog2(WORD_BITS))) - 1n });
    m.update(posHi, fillNextLsbs);
    const fillNextWord = m.let('fill_next_word', fillNext.slice(WORD_LSBS, FW.minus(WORD_LSBS)), 'q of the next cycle');
    m.update(posWordN, fillNextWord.not(), { reset: (1n << BigInt(p.fillBits - ceilLog2(WORD_BITS))) - 1n });
    m.comment("After a tile's last record, the bits left in its last word are padding: drop them next cycle.");
    const recLenLsbs = layout
      ? layout.recLen.slice(0, WORD_LSBS)
      : new ParamConst(m.localparam('REC_LSBS', Dim.of(p.recordMax % WORD_BITS), 'RECMAX modulo WORDW'), WORD_LSBS);
    const leftLsbs = m.let('left_lsbs', padBits.minus(recLenLsbs), 'bits left after the head record, modulo WORDW');
    m.update(padQ, tileDone.and(leftLsbs.any()));
    m.update(padAmt, mux(tileDone, leftLsbs, Const.zero(WORD_LSBS)));

    m.update(pendV, cmdFire.or(pendV.and(start.not())));
    m.update(pendS, cmdScales, { enable: cmdFire });

    m.comment('---- Scales: COLS / 4 words shift in from the top; column 0 ends in bits 7:0 ----');
    const head = bitbuf.slice(0, WORDW);
    m.update(scaleQ, scaleCnt ? concat(head, scaleQ.slice(WORDW, COLS.times(8).minus(WORDW))) : head, { enable: scaleGo });
    if (scaleCnt && scaleLast) m.update(scaleCnt, mux(scaleLast, Const.zero(scaleCnt.width), scaleCnt.plus(lit(1, scaleCnt.width))), { enable: scaleGo });
    m.update(scaleV, scaleDone.or(scaleV.and(scaleReady.not())));

    m.comment('---- Stage 1 to 2: the taken record (its layout), with the row it completes ----');
    if (ubCnt && ubLastW) m.update(ubCnt, mux(ubLastW, Const.zero(ubCnt.width), ubCnt.plus(lit(1, ubCnt.width))), { enable: recGo });
    m.update(rowOh, concat(rowOh.slice(0, ROWS.minus(1)), rowOh.bit(ROWS.minus(1))), { enable: rowDone, reset: 1 });
    const recV = ubCnt ? m.reg('rec_v', 1, { doc: 'stage 2 holds a record (it shifts into the row)' }) : null;
    const recLoad = m.reg('rec_load', ROWS, { doc: 'one-hot: the row this record completes (zero if it does not)' });
    const recLast = m.reg('rec_last', 1, { doc: "the record is its tile's last" });
    if (recV) m.update(recV, recGo);
    m.update(recLoad, mux(rowDone, rowOh, Const.zero(ROWS)));
    m.update(recLast, tileDone);
    const ubOps = m.wire('ub_ops', CODEW, { doc: "stage 2's record: its B operands" });
    const ubCfg = o ? m.wire('ub_cfg', LANES.times(o.CFGW), { doc: "stage 2's record: its B lane settings" }) : null;
    if (!layout || !o || !ubCfg) {
      const recCodes = m.reg('rec_codes', CODEW, { doc: 'the record: B codes' });
      m.update(recCodes, rec, { enable: recGo });
      m.assign(ubOps, recCodes);
    } else {
      const recCodes = m.reg('rec_codes', CODEW, { doc: "the record's B slot codes" });
      const recFields = m.reg('rec_fields', layout.pairFields.width, { doc: 'its X and pair entries' });
      const recPairs = m.reg('rec_pairs', layout.pairValid.width, { doc: 'its pairs that exist' });
      m.update(recCodes, layout.codes, { enable: recGo });
      m.update(recFields, layout.pairFields, { enable: recGo });
      m.update(recPairs, layout.pairValid, { enable: recGo });
      m.comment('---- Stage 2: the registered record to B operands and B lane settings ----');
      decodeRecordFields(m, p, { layout: { pairValid: recPairs, pairFields: recFields, codes: recCodes, PAIRS: layout.PAIRS, PAIRW: layout.PAIRW }, ubOps, ubCfg, o, WBITS, LANES });
    }

    m.comment('---- Stage 2: rows. COLS / LANES - 1 μBs in a shift register, the last one joins them on output ----');
    const recRowDone = m.let('rec_row_done', recLoad.any(), 'the record completes a row');
    let rowOps: Expr = ubOps;
    let rowCfg: Expr | null = ubCfg;
    if (recV) {
      // COLS - LANES slots: every μB of a row but the last; the newest enters at the top
      const older = COLS.minus(LANES);
      const accOps = m.reg('acc_ops', older.times(WBITS), { doc: 'earlier μBs of the row, oldest in the LSBs' });
      m.update(accOps, p.ublocks > 2 ? concat(ubOps, accOps.slice(CODEW, older.minus(LANES).times(WBITS))) : ubOps, { enable: recV });
      rowOps = concat(ubOps, accOps);
      if (o && ubCfg) {
        const accCfg = m.reg('acc_cfg', older.times(o.CFGW), { doc: 'their lane settings' });
        m.update(accCfg, p.ublocks > 2 ? concat(ubCfg, accCfg.slice(LANES.times(o.CFGW), older.minus(LANES).times(o.CFGW))) : ubCfg, { enable: recV });
        rowCfg = concat(ubCfg, accCfg);
      }
    }
    m.update(rowOpsQ, rowOps, { enable: recRowDone });
    if (rowCfgQ && rowCfg) m.update(rowCfgQ, rowCfg, { enable: recRowDone });
    m.update(rowLoadQ, recLoad);
    m.update(tileLoadedQ, recLast);

    m.comment('---- Outputs: registers only, but w_ready (from the word register and the fill count) ----');
    m.assign(wReady, canTake);
    m.assign(cmdReady, pendV.not());
    m.assign(wRowData, rowOpsQ);
    if (cfgRowData && rowCfgQ) m.assign(cfgRowData, rowCfgQ);
    m.assign(wRowLoad, rowLoadQ);
    m.assign(scaleData, scaleQ);
    m.assign(scaleValid, scaleV);
    m.assign(tileLoaded, tileLoadedQ);
  });
}
