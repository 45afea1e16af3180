import { defineModule, type ModuleBuilder, type ModuleDef } from '../dsl/module.ts';
import type { Dim } from '../dsl/dim.ts';
import { Const, ParamConst, lit, mux } from '../dsl/expr.ts';
import { checkIntRange, InputError } from '../../common/errors.ts';

/** The ports of a stream buffer (the FIFO, the skid buffer): a valid/ready stream in and one out, with their docs. */
export function streamBufferPorts(m: ModuleBuilder, width: Dim, doc: { inReady: string; outData: string; outValid: string }) {
  return {
    inData: m.input('in_data', width),
    inValid: m.input('in_valid', 1),
    inReady: m.output('in_ready', 1, { doc: doc.inReady }),
    outData: m.output('out_data', width, { doc: doc.outData }),
    outValid: m.output('out_valid', 1, { doc: doc.outValid }),
    outReady: m.input('out_ready', 1),
  };
}

export interface FifoConfig {
  width: number;
  /** entries, a power of two */
  depth: number;
}

/**
 * A synchronous FIFO with valid/ready on both sides. The entries are a RAM
 * (`reg [WIDTH-1:0] storage [0:DEPTH-1]`: one write port, one asynchronous
 * read), so synthesis sees a memory: Yosys maps it to flip-flops with a word
 * multiplexer quickly, and an ASIC or FPGA flow can swap in a register file or
 * LUT RAM. Entries are not reset; out_data is forced to 0 while the FIFO is
 * empty, so no stale or undefined word ever leaves it. Pointers carry one
 * extra bit to tell full from empty.
 */
export function fifo(c: FifoConfig): ModuleDef {
  checkIntRange('FIFO width', c.width, 1, 1 << 16);
  checkIntRange('FIFO depth', c.depth, 2, 1024);
  if ((c.depth & (c.depth - 1)) !== 0) throw new InputError(`FIFO depth ${c.depth} is not a power of two`);
  const aw = Math.log2(c.depth);
  return defineModule(`msq_fifo_w${c.width}_d${c.depth}`, 'FIFO with valid/ready ports (RAM entries, asynchronous read)', { block: 'fifo', ...c }, (m) => {
    const WIDTH = m.param('WIDTH', c.width, 'entry width');
    const DEPTH = m.param('DEPTH', c.depth, 'entries (a power of two)');
    m.clock();
    m.resetN();
    const { inData, inValid, inReady, outData, outValid, outReady } = streamBufferPorts(m, WIDTH, { inReady: 'not full', outData: 'the oldest entry; 0 while empty', outValid: 'not empty' });

    m.comment('Pointers carry one extra bit: equal pointers mean empty, equal but for that bit full.');
    const wptr = m.reg('wptr', aw + 1, { doc: 'write pointer, with a wrap bit' });
    const rptr = m.reg('rptr', aw + 1, { doc: 'read pointer, with a wrap bit' });
    const storage = m.memory('storage', WIDTH, DEPTH, { doc: 'entries; only written ones are ever read' });
    const empty = m.let('empty', wptr.eq(rptr));
    const full = m.let('full', wptr.slice(0, aw).eq(rptr.slice(0, aw)).and(wptr.bit(aw).ne(rptr.bit(aw))));
    const push = m.let('push', inValid.and(full.not()));
    const pop = m.let('pop', outReady.and(empty.not()));
    m.comment('Entries are a RAM: written on a push, read asynchronously at the read pointer.');
    storage.write(wptr.slice(0, aw), inData, push);
    m.update(wptr, wptr.plus(lit(1, aw + 1)), { enable: push });
    m.update(rptr, rptr.plus(lit(1, aw + 1)), { enable: pop });
    m.comment('out_data is 0 while the FIFO is empty: no stale or undefined word ever leaves it.');
    m.assign(inReady, full.not());
    m.assign(outValid, empty.not());
    m.assign(outData, mux(empty, Const.zero(WIDTH), storage.read(rptr.slice(0, aw))));

    m.property('assert', 'a_occupancy', new ParamConst(DEPTH, aw + 1).ge(wptr.minus(rptr)), 'never more than DEPTH entries: wptr - rptr (mod 2^(AW+1)) <= DEPTH');
  });
}
