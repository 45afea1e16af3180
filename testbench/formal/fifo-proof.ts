/**
 * The FIFO's proof (generator/blocks/fifo.ts): no beat lost, duplicated or
 * reordered, occupancy never above DEPTH, and the valid/ready rules of both
 * ports, under any back-pressure. One beat, picked by the solver (`anyconst`:
 * every choice is checked), is followed from in_data to out_data: it must leave
 * with its data when the beats before it have left, and not before.
 */
import { fifo, type FifoConfig } from '../../generator/blocks/fifo.ts';
import type { ModuleDef } from '../../generator/dsl/module.ts';
import { harnessName, instanceByName, portsOf, streamRule, type FormalHarness } from './harness.ts';

export function fifoHarness(dut: ModuleDef, c: FifoConfig): FormalHarness {
  const aw = Math.log2(c.depth);
  const cw = aw + 2; // beat counters: their difference tells 0..DEPTH apart (mod 2^cw)
  const io = portsOf(dut);
  return {
    name: harnessName(dut),
    dut,
    purpose: 'no beat lost, duplicated or reordered; occupancy <= DEPTH; valid/ready rules',
    ports: io.ports,
    decls: [
      ...io.decls,
      `localparam integer DEPTH = ${c.depth};`,
      `(* anyconst *) reg [${cw - 1}:0] f_pick;  // the followed beat: the f_pick-th beat in (mod 2^${cw})`,
      `reg [${cw - 1}:0] f_in = ${cw}'d0;  // beats taken in`,
      `reg [${cw - 1}:0] f_out = ${cw}'d0;  // beats taken out`,
      `reg f_held = 1'b0;  // the followed beat is inside`,
      `reg [${c.width - 1}:0] f_data = ${c.width}'d0;  // its data`,
      `wire f_push = in_valid && in_ready;`,
      `wire f_pop = out_valid && out_ready;`,
      `wire [${cw - 1}:0] f_occ = f_in - f_out;  // beats inside`,
    ],
    instance: instanceByName(dut),
    sections: [
      { title: 'Environment: the producer holds a beat until it is taken (assumption)', lines: streamRule('assume', 'm_in_hold', 'in_valid', 'in_ready', ['in_data']) },
      {
        title: 'Scoreboard: beats in and out, the followed beat and its data',
        lines: [
          'always @(posedge clk) begin',
          '  if (!rst_n) begin',
          "    f_in <= 'd0;",
          "    f_out <= 'd0;",
          "    f_held <= 1'b0;",
          '  end else begin',
          "    if (f_push) f_in <= f_in + 1'b1;",
          "    if (f_pop) f_out <= f_out + 1'b1;",
          '    if (f_push && f_in == f_pick) begin',
          "      f_held <= 1'b1;",
          '      f_data <= in_data;',
          '    end',
          "    if (f_pop && f_out == f_pick) f_held <= 1'b0;",
          '  end',
          'end',
        ],
      },
      {
        title: 'The FIFO: order, count and flags (assertions), and what a run can reach (covers)',
        lines: [
          'always @(posedge clk) begin',
          '  if (rst_n) begin',
          '    // the followed beat leaves in its turn, with its data (a lost or duplicated beat shifts every later one)',
          '    a_order: assert (!(f_pop && f_out == f_pick) || (f_held && out_data == f_data));',
          '    a_count: assert (f_occ <= DEPTH);',
          '    // a beat is offered exactly when one is inside, and taken exactly when there is room',
          "    a_valid: assert (out_valid == (f_occ != 'd0));",
          '    a_ready: assert (in_ready == (f_occ != DEPTH));',
          '    c_full_pop: cover (!in_ready && f_pop);',
          '    c_followed_after_wrap: cover (f_pop && f_out == f_pick && f_pick == DEPTH + 1);',
          '  end',
          'end',
          ...streamRule('assert', 'a_out_hold', 'out_valid', 'out_ready', ['out_data']),
        ],
      },
    ],
  };
}

/** The FIFO configuration the proof runs on: every pointer state, with wrap-around, within a short bound. */
export const FIFO_PROOF_CONFIG: FifoConfig = { width: 8, depth: 4 };

export function fifoProofDut(c = FIFO_PROOF_CONFIG): ModuleDef {
  return fifo(c);
}
