import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { Const, lit, mux } from '../dsl/expr.ts';
import { checkIntRange, InputError } from '../../common/errors.ts';

export interface FifoConfig {
  width: number;
  /** entries, a power of two */
  depth: number;
}

/**
 * A synchronous FIFO in flip-flops with valid/ready on both sides. Entries are
 * written through a one-hot enable so each one is a plain enabled register
 * bank; the read side is a DEPTH:1 multiplexer on the read pointer. Pointers
 * carry one extra bit to tell full from empty.
 */
export function fifo(c: FifoConfig): ModuleDef {
  checkIntRange('FIFO width', c.width, 1, 1 << 16);
  checkIntRange('FIFO depth', c.depth, 2, 1024);
  if ((c.depth & (c.depth - 1)) !== 0) throw new InputError(`FIFO depth ${c.depth} is not a power of two`);
  const aw = Math.log2(c.depth);
  return defineModule(`msq_fifo_w${c.width}_d${c.depth}`, 'flip-flop FIFO with valid/ready ports', { block: 'fifo', ...c }, (m) => {
    const WIDTH = m.param('WIDTH', c.width, 'entry width');
    const DEPTH = m.param('DEPTH', c.depth, 'entries (a power of two)');
    m.clock();
    m.resetN();
    const inData = m.input('in_data', WIDTH);
    const inValid = m.input('in_valid', 1);
    const inReady = m.output('in_ready', 1, { doc: 'not full' });
    const outData = m.output('out_data', WIDTH);
    const outValid = m.output('out_valid', 1, { doc: 'not empty' });
    const outReady = m.input('out_ready', 1);

    const wptr = m.reg('wptr', aw + 1, { doc: 'write pointer, with a wrap bit' });
    const rptr = m.reg('rptr', aw + 1, { doc: 'read pointer, with a wrap bit' });
    const storage = m.reg('storage', DEPTH.times(WIDTH), { doc: 'entries, entry 0 in the LSBs' });
    const empty = m.let('empty', wptr.eq(rptr));
    const full = m.let('full', wptr.slice(0, aw).eq(rptr.slice(0, aw)).and(wptr.bit(aw).ne(rptr.bit(aw))));
    const push = m.let('push', inValid.and(full.not()));
    const pop = m.let('pop', outReady.and(empty.not()));
    const wordEnable = m.let('word_enable', mux(push, lit(1, c.depth).shl(wptr.slice(0, aw)), Const.zero(DEPTH)), 'one-hot: the entry written this cycle');
    const next = m.wire('storage_next', DEPTH.times(WIDTH));
    m.generate('g_entry', 'e', DEPTH, (e, s) => {
      s.assign(next.lane(e, WIDTH), mux(wordEnable.bit(e), inData, storage.lane(e, WIDTH)));
    });
    m.update(storage, next);
    m.update(wptr, wptr.plus(lit(1, aw + 1)), { enable: push });
    m.update(rptr, rptr.plus(lit(1, aw + 1)), { enable: pop });
    m.assign(inReady, full.not());
    m.assign(outValid, empty.not());
    m.assign(outData, storage.laneAt(rptr.slice(0, aw), WIDTH));
  });
}
