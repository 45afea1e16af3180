import { describe, expect, it } from 'vitest';
import { defineModule, type ModuleDef } from '../generator/dsl/module.ts';
import { lit } from '../generator/dsl/expr.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderModule } from '../generator/dsl/render.ts';
import { writeCycleBench, runBench, type CycleVector, type Simulator } from '../testbench/cycle-harness.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

/**
 * A burst counter: S_IDLE until `start`, then S_COUNT counts beats until
 * `stop` or the count reaches 12, then one cycle of S_DONE. The count is a
 * flop set in the same always block as the state; `level` comes from a
 * separate when/elsewhen/otherwise block.
 */
function burstCounter(): ModuleDef {
  return defineModule('fsm_demo', 'a state machine with a counter', {}, (m) => {
    m.clock();
    m.resetN();
    const start = m.input('start', 1);
    const stop = m.input('stop', 1);
    const busy = m.output('busy', 1);
    const done = m.output('done', 1);
    const count = m.output('count', 4);
    const level = m.output('level', 2);
    const st = m.fsm('state', { S_IDLE: 'waiting', S_COUNT: 'counting beats', S_DONE: 'one cycle of done' }, { reset: 'S_IDLE' });
    const cnt = m.flop('cnt', 4, { doc: 'beats counted' });
    const full = m.let('full', cnt.q.eq(lit(12, 4)));
    m.comb((b) => {
      b.hold(cnt);
      b.transitions(st, {
        S_IDLE: (go) =>
          b.when(start, () => {
            b.set(cnt.d, lit(0, 4));
            go('S_COUNT');
          }),
        S_COUNT: (go) => {
          b.set(cnt.d, cnt.q.plus(lit(1, 4)));
          b.when(stop.or(full), () => go('S_DONE'));
        },
        S_DONE: (go) => go('S_IDLE'),
      });
    });
    const lv = m.logic('lv', 2, { doc: 'how far the count is' });
    m.comb((b) => {
      b.default(lv, lit(0, 2));
      b.when(cnt.q.ge(lit(8, 4)), () => b.set(lv, lit(3, 2)))
        .elsewhen(cnt.q.ge(lit(4, 4)), () => b.set(lv, lit(2, 2)))
        .otherwise(() => b.when(cnt.q.ne(lit(0, 4)), () => b.set(lv, lit(1, 2))));
    });
    m.assign(busy, st.is('S_COUNT'));
    m.assign(done, st.is('S_DONE'));
    m.assign(count, cnt.q);
    m.assign(level, lv);
  });
}

/** The same machine in TypeScript: outputs after each clock edge. */
function burstVectors(cycles: number, seed: number): CycleVector[] {
  const rng = new Rng(seed);
  let state = 0;
  let cnt = 0;
  const out: CycleVector[] = [];
  for (let t = 0; t < cycles; t++) {
    const reset = t === 0 || t === 150;
    const start = rng.float() < 0.3;
    const stop = rng.float() < 0.1;
    if (reset) {
      state = 0;
      cnt = 0;
    } else if (state === 0) {
      if (start) {
        cnt = 0;
        state = 1;
      }
    } else if (state === 1) {
      const full = cnt === 12;
      cnt = (cnt + 1) & 15;
      if (stop || full) state = 2;
    } else {
      state = 0;
    }
    const level = cnt >= 8 ? 3 : cnt >= 4 ? 2 : cnt !== 0 ? 1 : 0;
    out.push({
      inputs: { rst_n: reset ? 0n : 1n, start: start ? 1n : 0n, stop: stop ? 1n : 0n },
      expect: { busy: state === 1 ? 1n : 0n, done: state === 2 ? 1n : 0n, count: BigInt(cnt), level: BigInt(level) },
    });
  }
  return out;
}

describe('DSL state machines and combinational blocks', () => {
  it('renders localparam states, a case on state_q with a default, and if / else if / else with defaults first', () => {
    const text = renderModule(burstCounter());
    expect(text).toContain("localparam [1:0] S_IDLE = 2'd0;");
    expect(text).toContain("localparam [1:0] S_COUNT = 2'd1;");
    expect(text).toContain("localparam [1:0] S_DONE = 2'd2;");
    expect(text).toMatch(/reg {2}\[1:0\] state_q;/);
    expect(text).toMatch(/reg {2}\[1:0\] state_d;/);
    expect(text).toContain('      state_q <= S_IDLE;');
    expect(text).toContain('      state_q <= state_d;\n      cnt_q <= cnt_d;');
    expect(text).toMatch(/always @\(\*\) begin\n {4}cnt_d = cnt_q;\n {4}state_d = state_q;\n {4}case \(state_q\)\n {6}S_IDLE: begin\n {8}if \(start\) begin/);
    expect(text).toContain('      default: begin\n        state_d = S_IDLE;\n      end\n    endcase');
    expect(text).toMatch(/lv = 2'b00;\n {4}if \(cnt_q >= 4'b1000\) begin\n {6}lv = 2'b11;\n {4}end else if \(cnt_q >= 4'b0100\) begin\n {6}lv = 2'b10;\n {4}end else begin\n {6}if \(cnt_q != 4'b0000\) begin/);
  });

  it('is clean in all three tools (no latch: every target has its default)', () => {
    expectCleanRtl(burstCounter());
  });

  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`runs as its TypeScript model on ${sim}`, () => {
      const vectors = burstVectors(300, 3);
      const dir = tmpDir();
      const { files } = writeCycleBench(burstCounter(), vectors, dir);
      const r = runBench(dir, files, sim);
      expect(r.mismatches).toEqual([]);
      expect(r.passed).toBe(vectors.length);
    });
  }

  it('refuses what would infer a latch or have two drivers, naming the signal', () => {
    type Body = Parameters<typeof defineModule>[3];
    const build = (body: Body) => () => defineModule('bad_comb', '', {}, body);
    expect(
      build((m) => {
        const a = m.input('a', 1);
        const x = m.logic('x', 1);
        m.comb((b) => b.when(a, () => b.set(x, a)));
      }),
    ).toThrow(/bad_comb: x is set without a default in this block \(it would infer a latch\)/);
    expect(
      build((m) => {
        const a = m.input('a', 1);
        const x = m.logic('x', 1);
        m.comb((b) => b.when(a, () => b.default(x, a)));
      }),
    ).toThrow(/default of x must be given at the top of the block/);
    expect(
      build((m) => {
        const a = m.input('a', 1);
        const x = m.logic('x', 1);
        m.comb((b) => b.default(x, a));
        m.assign(x, a);
      }),
    ).toThrow(/cannot assign to logic x/);
    expect(
      build((m) => {
        const a = m.input('a', 2);
        const x = m.logic('x', 1);
        m.comb((b) => {
          b.default(x, lit(0, 1));
          b.when(a, () => b.set(x, lit(1, 1)));
        });
      }),
    ).toThrow(/condition bad_comb\.a \[2 bits\] must be 1 bit/);
    expect(
      build((m) => {
        m.clock();
        m.resetN();
        m.fsm('st', { S_A: 'a', S_B: 'b' }, { reset: 'S_A' });
      }),
    ).toThrow(/state machine st has no transitions/);
    expect(
      build((m) => {
        m.clock();
        m.resetN();
        const f = m.fsm('st', { S_A: 'a', S_B: 'b' }, { reset: 'S_A' });
        f.next({ S_A: (go: (s: 'S_A' | 'S_B') => void) => go('S_B') } as never);
      }),
    ).toThrow(/state machine st has no arm for S_B/);
    const twoBlocks = defineModule('two_blocks', '', {}, (m) => {
      const a = m.input('a', 1);
      const y = m.output('y', 1);
      const x = m.logic('x', 1);
      m.comb((b) => b.default(x, a));
      m.comb((b) => b.default(x, lit(0, 1)));
      m.assign(y, x);
    });
    expect(() => elaborate(twoBlocks)).toThrow(/two_blocks\.x\[0\] has multiple drivers/);
  });
});
