import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { lit, mux } from '../dsl/expr.ts';
import { checkIntRange } from '../../common/errors.ts';
import { streamBufferPorts } from './fifo.ts';

export interface SkidBufferConfig {
  width: number;
}

/** A skid buffer holds at most this many beats: the output register and the skid register. */
export const SKID_BUFFER_DEPTH = 2;

export function skidBufferModuleName(c: SkidBufferConfig): string {
  return `msq_skid_w${c.width}`;
}

/**
 * A skid buffer: a 2-beat valid/ready stage whose every output is a flip-flop.
 * The output register (out_q, out_v) feeds out_data and out_valid directly,
 * with no read multiplexer after it; in_ready is "the skid register is empty",
 * also a flip-flop, so no path runs from one port to another. A beat arriving
 * while the output is held (out_valid && !out_ready) waits in the skid register
 * and moves to the output first when it frees, so the order is kept and a beat
 * can enter and one leave in every cycle (full rate). The FIFO of the same
 * depth (fifo.ts) computes out_valid and in_ready from its pointers and reads
 * its entries through a multiplexer: at 16x16 that comparison cost the
 * controller's beat-fire logic 0.5 ns.
 *
 * out_data is meaningful only with out_valid. The data registers load
 * without asking more than they must, because the consumer's out_ready (the
 * accelerator's beat fire) reaches every bit they select: out_q loads whenever
 * the output frees (a bus value without in_valid is harmless there: out_v
 * stays low), skid_q whenever a beat enters (if the output takes it at once,
 * skid_v stays low), so out_ready fans out to out_q's selects only.
 */
export function skidBuffer(c: SkidBufferConfig): ModuleDef {
  checkIntRange('skid buffer width', c.width, 1, 1 << 16);
  return defineModule(skidBufferModuleName(c), 'skid buffer: a 2-beat valid/ready stage, every output a flip-flop', { block: 'skid', ...c }, (m) => {
    const WIDTH = m.param('WIDTH', c.width, 'beat width');
    m.clock();
    m.resetN();
    const { inData, inValid, inReady, outData, outValid, outReady } = streamBufferPorts(m, WIDTH, {
      inReady: 'the skid register is empty (a flip-flop)',
      outData: 'the oldest beat (a flip-flop); meaningful only with out_valid',
      outValid: 'a beat is offered (a flip-flop)',
    });

    const outQ = m.reg('out_q', WIDTH, { doc: 'the output register: the oldest beat' });
    const outV = m.reg('out_v', 1, { doc: 'out_q holds a beat' });
    const skidQ = m.reg('skid_q', WIDTH, { doc: 'the beat that arrived while the output was held' });
    const skidV = m.reg('skid_v', 1, { doc: 'skid_q holds a beat' });

    m.comment('A beat is taken while the skid register is empty; the output register frees when it is empty or taken.');
    const push = m.let('push', inValid.and(skidV.not()), 'a beat enters');
    const outFree = m.let('out_free', outV.not().or(outReady), 'the output register is empty or emptied at this edge');
    m.comment('The output register loads the skid beat first (it is older), else the bus (a beat if push).');
    m.update(outQ, mux(skidV, skidQ, inData), { enable: outFree });
    m.update(outV, mux(outFree, skidV.or(push), lit(1, 1)));
    m.comment('A beat that enters while the output is held waits in the skid register (it loads every entering beat).');
    m.update(skidQ, inData, { enable: push });
    m.update(skidV, mux(outFree, lit(0, 1), skidV.or(push)));
    m.assign(inReady, skidV.not());
    m.assign(outData, outQ);
    m.assign(outValid, outV);

    m.property('assert', 'a_skid_behind', skidV.not().or(outV), 'the skid register holds a beat only behind one in the output register');
  });
}
