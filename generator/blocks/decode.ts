import { defineModule, type ModuleDef, type ScopeBuilder } from '../dsl/module.ts';
import { Const, ParamConst, concat, lit, mux, type Expr, type Signal } from '../dsl/expr.ts';
import { Idx } from '../dsl/index.ts';
import { Dim } from '../dsl/dim.ts';
import { InputError } from '../../common/errors.ts';
import {
  ceilLog2, countFieldBits, headerBits, recordBits, resolveDecode, shiftFieldBits, WORD_BITS,
  type DecodeConfig, type DecodeParams,
} from '../../quant/hwmodel/decode.ts';

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
  const base = `msq_decode_r${p.rows}c${p.cols}_w${p.wbits}_b${p.lanes}`;
  if (!p.outliers) return `${base}_plain`;
  const cTag = p.shiftConst < 0 ? `cm${-p.shiftConst}` : `c${p.shiftConst}`;
  return `${base}_${p.topology === 'crossbar' ? 'xbar' : 'bfly'}_e${p.ebits}m${p.mbits}_x${p.xbits}${cTag}_s${p.shiftBits}`;
}

/** `sel[0] ? arms[0] : sel[1] ? arms[1] : ... : fallback`; arms equal to the fallback are left out. */
function oneHotChain(sel: Signal, arms: Expr[], fallback: Expr): Expr {
  let e = fallback;
  for (let n = arms.length - 1; n >= 0; n--) {
    if (arms[n]!.render() === fallback.render()) continue;
    e = mux(sel.bit(n), arms[n]!, e);
  }
  return e;
}

/** An unsigned value brought to `w` bits: zero-extended, or its low bits (a named signal). */
function resize(s: Signal, w: Dim): Expr {
  if (s.width.value === w.value) return s;
  return s.width.value < w.value ? s.zext(w) : s.slice(0, w);
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
 * cfg_row_data with a one-cycle w_row_load pulse. The cycle model is
 * DecodeModel in quant/hwmodel/decode.ts; docs/ARCHITECTURE.md has the timing.
 */
export function decodeUnit(c: DecodeConfig): ModuleDef {
  const p = checkDecodeConfig(c);
  const B = p.lanes;
  const HALF = B / 2;
  const doc = p.outliers
    ? `block-decode unit: MicroScopiQ records (${p.topology}, μB ${B}, W${p.wbits}, E${p.ebits}M${p.mbits} outliers) to ${p.rows} rows of ${p.cols} PE operands and ReCoN lane settings`
    : `block-decode unit (plain MX-INT): ${B}-code records to ${p.rows} rows of ${p.cols} PE operands`;
  const config = {
    block: 'decode', rows: p.rows, cols: p.cols, wbits: p.wbits, ublock: B, outliers: p.outliers,
    ...(p.outliers ? { topology: p.topology, outlier: p.msq.outlier, xbits: p.xbits, shiftConst: p.shiftConst, guardBits: p.guardBits, maxShift: p.maxShift, shiftBits: p.shiftBits } : {}),
  };
  return defineModule(decodeModuleName(c), doc, config, (m) => {
    const ROWS = m.param('ROWS', p.rows, 'PE rows: records per μB column of a tile');
    const COLS = m.param('COLS', p.cols, 'PE columns: operands per row');
    const WBITS = m.param('WBITS', p.wbits, 'slot code and operand width b');
    const LANES = m.param('LANES', B, 'μB size B: slots per record');
    const RECMAX = m.param('RECMAX', p.recordMax, p.outliers ? 'longest record (B/2 pairs) in bits' : 'record bits: LANES * WBITS');
    const BUFW = m.param('BUFW', p.bufBits, 'bit buffer: RECMAX rounded up to words, plus one word');
    const FW = m.param('FW', p.fillBits, 'width of the fill count (0..BUFW)');
    const o = p.outliers
      ? {
          XBITS: p.xbits > 0 ? m.param('XBITS', p.xbits, "width of a record's X field") : null,
          PB: m.param('PB', p.slotBits, 'slot index width: log2(LANES)'),
          PFW: m.param('PFW', p.partnerFieldBits, p.topology === 'crossbar' ? 'partner field: the partner slot' : 'partner field: butterfly stage s, partner = o XOR 2^s'),
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
    const wData = m.input('w_data', WORD_BITS, { doc: 'weight stream word' });
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

    // ---- state ---------------------------------------------------------------
    const bitbuf = m.reg('bitbuf', BUFW, { doc: 'stream bits not yet decoded; bit 0 is the next stream bit' });
    const fill = m.reg('fill', FW, { doc: 'valid bits in bitbuf (bits above are zero)' });
    const pendV = m.reg('pend_v', 1, { doc: 'a command waits (one-entry queue)' });
    const pendS = m.reg('pend_s', 1, { doc: 'the waiting command has scales' });
    const tileAct = m.reg('tile_act', 1, { doc: 'a tile is being decoded' });
    const inScales = m.reg('in_scales', 1, { doc: 'the tile is still in its scale words' });
    const scaleQ = m.reg('scale_q', COLS.times(8), { doc: 'scale words, shifted in from the top' });
    const scaleV = m.reg('scale_v', 1, { doc: 'scale_q is complete and not yet taken' });
    const rowOh = m.reg('row_oh', ROWS, { doc: 'one-hot: the row the next full row of μBs goes to' });
    const rowOpsQ = m.reg('row_ops_q', COLS.times(WBITS), { doc: 'the row being loaded' });
    const rowCfgQ = o ? m.reg('row_cfg_q', COLS.times(o.CFGW), { doc: 'its lane settings' }) : null;
    const rowLoadQ = m.reg('row_load_q', ROWS, { doc: 'w_row_load' });
    const tileLoadedQ = m.reg('tile_loaded_q', 1, { doc: 'tile_loaded' });

    // ---- one record at the buffer head ---------------------------------------
    const rec = m.let('rec', bitbuf.slice(0, RECMAX), 'the longest record that can start at the head');
    const ubOps = m.wire('ub_ops', LANES.times(WBITS), { doc: "the head record's B operands" });
    const ubCfg = o ? m.wire('ub_cfg', LANES.times(o.CFGW), { doc: "the head record's B lane settings" }) : null;
    let recLen: Expr;
    if (!o || !ubCfg) {
      // plain build: a record is its B codes, and each code is the operand
      m.assign(ubOps, rec);
      recLen = lit(recordBits(p, 0), FW);
    } else {
      // NP = the run of ones at bit 0 (unary, at most B/2). np_is[n]: exactly n
      // pairs (n < B/2, a zero ends the count); none set means B/2 pairs.
      const PAIRS = m.param('PAIRS', HALF, 'most pairs per record: LANES / 2');
      const npIs = m.wire('np_is', PAIRS, { doc: 'one-hot pair count NP = n, n < B/2 (all clear: NP = B/2)' });
      for (let n = 0; n < HALF; n++) m.assign(npIs.bit(n), rec.slice(0, n + 1).eq(lit((1 << n) - 1, n + 1)));
      const pairValid = m.wire('pair_valid', PAIRS, { doc: 'pair a exists: NP > a (count bits 0..a all one)' });
      for (let a = 0; a < HALF; a++) m.assign(pairValid.bit(a), rec.slice(0, a + 1).eq(lit((1 << (a + 1)) - 1, a + 1)));
      const recLenW = m.wire('rec_len', FW, { doc: 'record length: count + (NP > 0 ? XBITS + NP pairs : 0) + LANES * WBITS' });
      m.assign(recLenW, oneHotChain(npIs, Array.from({ length: HALF }, (_, n) => lit(recordBits(p, n), FW)), lit(recordBits(p, HALF), FW)));
      recLen = recLenW;
      // X and the pairs follow the count field; the codes follow the pairs.
      const PAIRW = o.PB.plus(o.PFW);
      const pairRegion = o.XBITS ? o.XBITS.plus(PAIRS.times(PAIRW)) : PAIRS.times(PAIRW);
      const pairFields = m.wire('pair_fields', pairRegion, { doc: 'X, then B/2 pair entries {partner field, outlier slot}; entries a >= NP are not valid' });
      const at = (n: number, w: Dim) => rec.slice(countFieldBits(p, n), w);
      m.assign(pairFields, oneHotChain(npIs, Array.from({ length: HALF }, (_, n) => at(n, pairRegion)), at(HALF, pairRegion)));
      const codes = m.wire('codes', LANES.times(WBITS), { doc: 'the B slot codes, slot 0 in the LSBs' });
      const codesAt = (n: number) => rec.slice(headerBits(p, n), LANES.times(WBITS));
      m.assign(codes, oneHotChain(npIs, Array.from({ length: HALF }, (_, n) => codesAt(n)), codesAt(HALF)));
      const xField = o.XBITS ? m.let('x_field', pairFields.slice(0, o.XBITS), "the μB's outlier exponent field X") : null;

      // Per pair: locate its slots, join the code halves, decode M, hi, lo, shift.
      const pairHiOp = m.wire('pair_hi_op', PAIRS.times(WBITS), { doc: 'per pair: s * hi, the operand of its outlier slot' });
      const pairLoOp = m.wire('pair_lo_op', PAIRS.times(WBITS), { doc: 'per pair: s * lo, the operand of its partner slot' });
      const pairPartner = m.wire('pair_partner', PAIRS.times(o.PB), { doc: 'per pair: the partner slot' });
      const pairShift = m.wire('pair_shift', PAIRS.times(o.SHW), { doc: 'per pair: the merge shift' });
      const slotIsO = m.wire('slot_is_o', LANES.times(PAIRS), { doc: 'slot-major: bit i*(B/2)+a: pair a has its outlier in slot i' });
      const slotIsP = m.wire('slot_is_p', LANES.times(PAIRS), { doc: 'slot-major: bit i*(B/2)+a: pair a has its partner in slot i' });
      const XB = o.XBITS ?? 0;
      m.generate('g_pair', 'a', PAIRS, (ga, s) => {
        const base = Idx.of(ga).times(PAIRW).plus(XB);
        const oSlot = s.let('o_slot', pairFields.slice(base, o.PB), 'outlier slot');
        const pField = s.let('p_field', pairFields.slice(base.plus(o.PB), o.PFW), p.topology === 'crossbar' ? 'partner slot' : 'butterfly stage');
        const pSlot = p.topology === 'crossbar' ? pField : s.let('p_slot', oSlot.xor(lit(1, o.PB).shl(pField)), 'partner slot: o XOR 2^stage');
        const fp = s.let('fp_code', concat(codes.laneAt(oSlot, WBITS), codes.laneAt(pSlot, WBITS)), 'the 2b-bit FP code: upper half in slot o, lower in slot p');
        const sign = s.let('fp_sign', fp.bit(WBITS.times(2).minus(1)));
        const exp = s.let('fp_exp', fp.slice(o.MBITS, o.EBITS));
        const man = s.let('fp_man', fp.slice(0, o.MBITS));
        const normal = s.let('fp_normal', exp.ne(Const.zero(o.EBITS)), 'e > 0: the implicit bit is set');
        const sig = s.let('sig', concat(normal, man), 'M = (e > 0 ? 2^MBITS : 0) + m');
        // hi and lo are at most 2^(b-1) - 1 (the quantizer's format choice), so
        // s * hi and s * lo are ordinary b-bit signed operands.
        const hiMag = s.let('hi_mag', sig.slice(o.SPLIT, o.MBITS.plus(1).minus(o.SPLIT)).zext(WBITS), 'hi = M >> L');
        const loMag = s.let('lo_mag', sig.slice(0, o.SPLIT).zext(WBITS), 'lo = M mod 2^L');
        s.assign(pairHiOp.lane(ga, WBITS), mux(sign, hiMag.neg(), hiMag));
        s.assign(pairLoOp.lane(ga, WBITS), mux(sign, loMag.neg(), loMag));
        s.assign(pairPartner.lane(ga, o.PB), pSlot);
        // shift = max(e, 1) + X + c, computed modulo 2^SHW: every legal shift is
        // below 2^SHW, so the wrapped sum is exact.
        const expLow = resize(exp, o.SHW);
        const expEff = s.let('exp_eff', mux(normal, expLow, lit(1, o.SHW)), 'max(e, 1), modulo 2^SHW');
        const withX = xField ? expEff.plus(resize(xField, o.SHW)) : expEff;
        s.assign(pairShift.lane(ga, o.SHW), withX.plus(new ParamConst(o.SHIFT_C, o.SHW)));
        const oMark = s.let('o_mark', mux(pairValid.bit(ga), lit(1, LANES).shl(oSlot), Const.zero(LANES)), 'one-hot outlier slot (none if the pair is absent)');
        const pMark = s.let('p_mark', mux(pairValid.bit(ga), lit(1, LANES).shl(pSlot), Const.zero(LANES)), 'one-hot partner slot');
        s.generate('g_mark', 'i', LANES, (gi, t) => {
          const k = Idx.of(gi).times(PAIRS).plus(ga);
          t.assign(slotIsO.bit(k), oMark.bit(gi));
          t.assign(slotIsP.bit(k), pMark.bit(gi));
        });
      });

      // Per slot: its own code, unless a pair marks it. A legal record marks a
      // slot at most once; the OR over pairs keeps illegal ones deterministic.
      m.generate('g_slot', 'i', LANES, (gi, s) => {
        const code = s.let('slot_code', codes.lane(gi, WBITS), 'the code stored in this slot');
        const hitO = s.let('hit_o', slotIsO.slice(Idx.of(gi).times(PAIRS), PAIRS), 'pairs with their outlier here');
        const hitP = s.let('hit_p', slotIsP.slice(Idx.of(gi).times(PAIRS), PAIRS), 'pairs with their partner here');
        const isOut = s.let('is_outlier', hitO.any());
        const isPru = s.let('is_pruned', hitP.any());
        const orOver = (f: (a: number) => Expr): Expr => {
          let e = f(0);
          for (let a = 1; a < HALF; a++) e = e.or(f(a));
          return e;
        };
        const zb = Const.zero(WBITS);
        const pairOp = s.let('pair_op', orOver((a) => mux(hitO.bit(a), pairHiOp.lane(a, WBITS), zb).or(mux(hitP.bit(a), pairLoOp.lane(a, WBITS), zb))), 's * hi here if an outlier, s * lo if a partner');
        s.assign(ubOps.lane(gi, WBITS), mux(isOut.or(isPru), pairOp, code));
        const partner = s.let('slot_partner', orOver((a) => mux(hitO.bit(a), pairPartner.lane(a, o.PB), Const.zero(o.PB))));
        const shift = s.let('slot_shift', orOver((a) => mux(hitO.bit(a), pairShift.lane(a, o.SHW), Const.zero(o.SHW))));
        // lane setting {shift, partner, mode}: mode 0 inlier, 1 outlier, 2 pruned
        s.assign(ubCfg.lane(gi, o.CFGW), concat(shift, partner, isPru, isOut));
      });
    }

    // ---- buffer, phases and commands --------------------------------------------
    const ubCnt = p.ublocks > 1 ? m.reg('ub_cnt', ceilLog2(p.ublocks), { doc: `μB of the row being gathered (of COLS / LANES = ${p.ublocks})` }) : null;
    const scaleCnt = p.scaleWords > 1 ? m.reg('scale_cnt', ceilLog2(p.scaleWords), { doc: `scale words taken so far (of COLS / 4 = ${p.scaleWords})` }) : null;

    const WORDW = m.localparam('WORDW', Dim.of(WORD_BITS), 'bits of a stream word');
    const TAKE_MAX = m.localparam('TAKE_MAX', BUFW.minus(WORDW), 'largest fill at which a word is still taken');
    const word = new ParamConst(WORDW, FW);
    const cmdFire = m.let('cmd_fire', cmdValid.and(pendV.not()));
    const scaleGo = m.let('scale_go', tileAct.and(inScales).and(scaleV.not()).and(fill.ge(word)), 'take one scale word (the previous scale set must be gone)');
    const recGo = m.let('rec_go', tileAct.and(inScales.not()).and(fill.ge(recLen)), 'the whole head record is buffered: decode it');
    const ubLastW = ubCnt ? m.let('ub_last', ubCnt.eq(lit(p.ublocks - 1, ubCnt.width)), "the row's last μB") : lit(1, 1);
    const rowDone = m.let('row_done', recGo.and(ubLastW), 'a full row goes out');
    const tileDone = m.let('tile_done', rowDone.and(rowOh.bit(ROWS.minus(1))), "the tile's last record");
    const start = m.let('start', pendV.and(tileAct.not().or(tileDone)), 'the queued tile starts next cycle');
    const scaleLast = scaleCnt ? m.let('scale_last', scaleCnt.eq(lit(p.scaleWords - 1, scaleCnt.width))) : lit(1, 1);
    const scaleDone = m.let('scale_done', scaleGo.and(scaleLast), 'the last scale word');

    const stepBits = m.let('step_bits', mux(scaleGo, word, mux(recGo, recLen, Const.zero(FW))), 'bits decoded this cycle');
    const left = m.let('left', fill.minus(stepBits), 'bits left after this step');
    // The tile's last record also drops the padding: the tile began on a word and
    // words arrive whole, so the bits left in the current word are the padding.
    const leftKept = m.let('left_kept', mux(tileDone, concat(left.slice(5, FW.minus(5)), lit(0, 5)), left), 'bits kept (padding dropped at the end of a tile)');
    const consume = m.let('consume', fill.minus(leftKept), 'head bits dropped this cycle');
    // Room is judged after this cycle's step (a function of registers only, not
    // of any input): with records of 32 bits or more a word is taken every cycle.
    const canTake = m.let('can_take', new ParamConst(TAKE_MAX, FW).ge(leftKept), 'a whole word fits above the kept bits');
    const wTake = m.let('w_take', wValid.and(canTake));
    const incoming = m.let('incoming', mux(wTake, wData.zext(BUFW).shl(leftKept), Const.zero(BUFW)), 'the new word, placed right above the kept bits');
    m.update(bitbuf, bitbuf.shr(consume).or(incoming));
    m.update(fill, leftKept.plus(mux(wTake, word, Const.zero(FW))));

    m.update(pendV, cmdFire.or(pendV.and(start.not())));
    m.update(pendS, cmdScales, { enable: cmdFire });
    m.update(tileAct, start.or(tileAct.and(tileDone.not())));
    m.update(inScales, mux(start, pendS, inScales.and(scaleDone.not())));

    // ---- scales: C/4 words shift in from the top; column 0 ends in bits 7:0 ---------
    const head = bitbuf.slice(0, WORD_BITS);
    m.update(scaleQ, scaleCnt ? concat(head, scaleQ.slice(WORD_BITS, COLS.times(8).minus(WORD_BITS))) : head, { enable: scaleGo });
    if (scaleCnt) m.update(scaleCnt, mux(scaleLast, Const.zero(scaleCnt.width), scaleCnt.plus(lit(1, scaleCnt.width))), { enable: scaleGo });
    m.update(scaleV, scaleDone.or(scaleV.and(scaleReady.not())));

    // ---- rows: C/B - 1 μBs in a shift register, the last one joins them on output ----
    if (ubCnt) m.update(ubCnt, mux(ubLastW, Const.zero(ubCnt.width), ubCnt.plus(lit(1, ubCnt.width))), { enable: recGo });
    let rowOps: Expr = ubOps;
    let rowCfg: Expr | null = ubCfg;
    if (ubCnt) {
      // COLS - LANES slots: every μB of a row but the last; the newest enters at the top
      const older = COLS.minus(LANES);
      const accOps = m.reg('acc_ops', older.times(WBITS), { doc: 'earlier μBs of the row, oldest in the LSBs' });
      m.update(accOps, p.ublocks > 2 ? concat(ubOps, accOps.slice(LANES.times(WBITS), older.minus(LANES).times(WBITS))) : ubOps, { enable: recGo });
      rowOps = concat(ubOps, accOps);
      if (o && ubCfg) {
        const accCfg = m.reg('acc_cfg', older.times(o.CFGW), { doc: 'their lane settings' });
        m.update(accCfg, p.ublocks > 2 ? concat(ubCfg, accCfg.slice(LANES.times(o.CFGW), older.minus(LANES).times(o.CFGW))) : ubCfg, { enable: recGo });
        rowCfg = concat(ubCfg, accCfg);
      }
    }
    m.update(rowOpsQ, rowOps, { enable: rowDone });
    if (rowCfgQ && rowCfg) m.update(rowCfgQ, rowCfg, { enable: rowDone });
    m.update(rowOh, concat(rowOh.slice(0, ROWS.minus(1)), rowOh.bit(ROWS.minus(1))), { enable: rowDone, reset: 1 });
    m.update(rowLoadQ, mux(rowDone, rowOh, Const.zero(ROWS)));
    m.update(tileLoadedQ, tileDone);

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
