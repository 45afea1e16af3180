import { describe, expect, it } from 'vitest';
import { controller, type ControllerConfig } from '../generator/blocks/controller.ts';
import { writeCycleBench, runBench, type CycleVector, type Simulator } from '../testbench/cycle-harness.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

/**
 * The control/status interface on its own: refused problems (a zero dimension,
 * K not a multiple of G) end with done and error and nothing issued; a good
 * problem passes the 17-cycle K check (16 quotient bits, then the decision) and asks for its first tile. Streams are
 * idle here (no tile ever loads), so every other output is at its idle value,
 * which the expectations spell out.
 */
const cfg: ControllerConfig = { rows: 4, cols: 8, group: 12, depth: 8 };

interface Step {
  start?: boolean;
  dims?: [number, number, number];
}

/** The status outputs a test states for a cycle (the rest follow from them). */
type Status = { busy: 0 | 1; done: 0 | 1; error: 0 | 1; cmd_valid: 0 | 1; k: number; m: number };

function vectors(steps: Step[], expectFn: (t: number) => Status | null): CycleVector[] {
  return steps.map((s, t) => {
    const [M, K, N] = s.dims ?? [0, 0, 0];
    const e = expectFn(t);
    return {
      inputs: { rst_n: t === 0 ? 0n : 1n, start: s.start ? 1n : 0n, dim_m: BigInt(M), dim_k: BigInt(K), dim_n: BigInt(N), a_valid: 0n, cmd_ready: 0n, tile_loaded: 0n, result_pop: 0n, row_free: 0n, row_free_addr: 0n },
      expect: e && {
        busy: BigInt(e.busy),
        done: BigInt(e.done),
        error: BigInt(e.error),
        a_ready: 0n,
        beat_fire: 0n,
        tile_swap: 0n,
        cmd_valid: BigInt(e.cmd_valid),
        cmd_scales: 1n, // the load walker stands at the first K-tile of a group
        first_ktile: 1n,
        last_ktile: 0n, // 3 K-tiles per group, the walker is at the first
        // the issue walker's position flags are registers set when a run starts (its counters are
        // loaded with M, K, N then): before that they are 0; with M = 1 row 0 is the last beat
        first_group: e.cmd_valid ? 1n : 0n,
        last_group: e.cmd_valid && e.k === cfg.group ? 1n : 0n,
        last_beat: e.cmd_valid && e.m === 1 ? 1n : 0n,
        beat_addr: 0n,
      },
    };
  });
}

describe('controller status interface', () => {
  it('is clean in all three tools', () => {
    expectCleanRtl(controller(cfg));
  });

  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`refuses bad problems with done + error and accepts a good one (${sim})`, () => {
      const steps: Step[] = [{}, {}];
      const exp: (Status | null)[] = [null, { busy: 0, done: 0, error: 0, cmd_valid: 0, k: 0, m: 0 }];
      /** `times` cycles of input `step`, each followed by status `status` */
      const cycles = (times: number, step: Step, status: Status) => {
        for (let i = 0; i < times; i++) {
          steps.push(step);
          exp.push(status);
        }
      };
      // 1. M = 0: refused at once
      cycles(1, { start: true, dims: [0, 24, 8] }, { busy: 0, done: 1, error: 1, cmd_valid: 0, k: 24, m: 0 });
      cycles(1, {}, { busy: 0, done: 1, error: 1, cmd_valid: 0, k: 24, m: 0 });
      // 2. K = 30, not a multiple of G = 12: 16 cycles of checking and one of deciding, then refused
      cycles(1, { start: true, dims: [1, 30, 8] }, { busy: 1, done: 0, error: 0, cmd_valid: 0, k: 30, m: 1 });
      cycles(16, {}, { busy: 1, done: 0, error: 0, cmd_valid: 0, k: 30, m: 1 });
      cycles(1, {}, { busy: 0, done: 1, error: 1, cmd_valid: 0, k: 30, m: 1 });
      // 3. K = 12 = G: checked, running, asking for the first tile (which never comes)
      cycles(1, { start: true, dims: [1, 12, 8] }, { busy: 1, done: 0, error: 0, cmd_valid: 0, k: 12, m: 1 });
      cycles(16, {}, { busy: 1, done: 0, error: 0, cmd_valid: 0, k: 12, m: 1 });
      cycles(4, { start: true, dims: [0, 0, 0] }, { busy: 1, done: 0, error: 0, cmd_valid: 1, k: 12, m: 1 }); // start is ignored while busy
      const v = vectors(steps, (t) => exp[t] ?? null);
      const dir = tmpDir();
      const { files } = writeCycleBench(controller(cfg), v, dir);
      const r = runBench(dir, files, sim);
      expect(r.mismatches).toEqual([]);
      expect(r.passed).toBe(v.filter((x) => x.expect).length);
    });
  }
});
