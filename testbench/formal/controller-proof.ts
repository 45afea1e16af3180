/**
 * The controller's proof (generator/blocks/controller.ts), through its ports:
 * every start taken while idle ends, exactly when the controller is idle
 * again, with done (held until the next start); busy, done
 * and error agree; nothing streams while idle; a problem the controller must
 * refuse (M, K or N zero, or K not a multiple of GROUP) streams nothing and
 * ends with error, a legal one ends without it. The environment (decode unit,
 * activation stream, post-array unit) is free: every input sequence is
 * allowed, so these hold whatever the other blocks do.
 */
import { controller, DIM_BITS, type ControllerConfig } from '../../generator/blocks/controller.ts';
import type { ModuleDef } from '../../generator/dsl/module.ts';
import { RUNNING, harnessName, instanceByName, portsOf, type FormalHarness } from './harness.ts';

/**
 * Small, but with the loops of the accelerator's: three K-tiles per group
 * (GROUP not a power of two: the remainder check), M-chunks of 2 rows, a
 * revisit gap, and 4-bit dimensions (M, K, N up to 15; the K check takes 4
 * cycles instead of 16).
 */
export const CONTROLLER_PROOF_CONFIG: ControllerConfig = { rows: 2, cols: 4, group: 6, depth: 2, revisitGap: 3, dimBits: 4 };

export function controllerProofDut(c = CONTROLLER_PROOF_CONFIG): ModuleDef {
  return controller(c);
}

export function controllerHarness(dut: ModuleDef, c: ControllerConfig): FormalHarness {
  const io = portsOf(dut);
  const dw = c.dimBits ?? DIM_BITS;
  return {
    name: harnessName(dut),
    dut,
    purpose: 'every started problem ends with done; busy, done and error agree; refused problems stream nothing',
    ports: io.ports,
    decls: [
      ...io.decls,
      `localparam integer GROUP = ${c.group};`,
      "reg f_open = 1'b0;  // a started problem has not ended",
      "reg f_bad = 1'b0;  // the open problem must be refused",
      "reg [1:0] f_started = 2'd0;  // problems started (saturating at 3)",
      'wire f_start = start && !busy;  // a start the controller takes (sampled while idle)',
      `wire f_refuse = dim_m == ${dw}'d0 || dim_k == ${dw}'d0 || dim_n == ${dw}'d0 || (dim_k % GROUP) != 0;`,
      '// done is cleared by a start and set when the problem ends: done while a problem is open is its end',
      'wire f_end = f_open && done;',
      'wire f_streams = cmd_valid || a_ready || beat_fire || tile_swap;',
    ],
    instance: instanceByName(dut),
    sections: [
      {
        title: 'Bookkeeping: the open problem and what it deserves',
        lines: [
          'always @(posedge clk) begin',
          '  if (!rst_n) begin',
          "    f_open <= 1'b0;",
          "    f_bad <= 1'b0;",
          "    f_started <= 2'd0;",
          '  end else begin',
          '    f_open <= f_start || (f_open && !f_end);',
          '    if (f_start) f_bad <= f_refuse;',
          "    if (f_start && f_started != 2'd3) f_started <= f_started + 2'd1;",
          '  end',
          'end',
        ],
      },
      {
        title: 'Status and streams (assertions), a refused, a running and a finished problem (covers)',
        lines: [
          'always @(posedge clk) begin',
          '  if (rst_n) begin',
          '    // a problem ends (done) exactly when the controller is idle again: none is lost, none ends twice',
          '    a_idle_ended: assert (busy || !f_open || done);',
          '    a_busy_not_done: assert (!(busy && done));',
          '    a_error_done: assert (!error || done);',
          '    a_idle_silent: assert (busy || !f_streams);',
          '    // a refused problem streams nothing and ends with error; a legal one ends without',
          '    a_refused_silent: assert (!(f_open && f_bad) || !f_streams);',
          '    a_error_iff_refused: assert (!f_end || error == f_bad);',
          "    c_refused: cover (f_end && error && f_started == 2'd1);",
          "    c_beat: cover (beat_fire && f_started == 2'd1);",
          "    c_finished: cover (f_end && !error && f_started == 2'd1);",
          "    c_second: cover (f_end && !error && f_started == 2'd2);",
          '  end',
          'end',
          '// done holds until the next start',
          `always @(posedge clk) if (${RUNNING}) a_done_holds: assert (!$past(done && !f_start) || done);`,
        ],
      },
    ],
  };
}
