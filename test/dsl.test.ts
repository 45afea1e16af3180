import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dim } from '../generator/dsl/dim.ts';
import { lit, concat, mux, WidthError } from '../generator/dsl/expr.ts';
import { defineModule, type ModuleDef } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderDesign, renderModule } from '../generator/dsl/render.ts';
import { pe } from '../generator/blocks/pe.ts';
import { verilatorLint, icarusCompile, yosysSynth } from '../testbench/tools.ts';
import { tmpDir } from './helpers.ts';

/** A small leaf: y = a + b, registered. */
function adder(width: number): ModuleDef {
  return defineModule(`add${width}`, 'registered adder', { width }, (m) => {
    const W = m.param('W', width, 'operand width');
    m.clock();
    m.resetN();
    const a = m.input('a', W, { signed: true });
    const b = m.input('b', W, { signed: true });
    const y = m.output('y', W, { signed: true });
    const q = m.reg('q', W, { signed: true });
    m.update(q, a.plus(b));
    m.assign(y, q);
  });
}

describe('Dim: widths in terms of parameters', () => {
  it('simplifies and evaluates polynomials of parameters', () => {
    const w = Dim.param('WBITS', 4);
    const a = Dim.param('ABITS', 8);
    expect(w.plus(a).minus(w).text).toBe('ABITS');
    expect(w.plus(a).minus(1).text).toBe('WBITS + ABITS - 1');
    expect(w.plus(a).minus(1).value).toBe(11);
    expect(w.times(Dim.param('COLS', 8)).times(2).text).toBe('2 * COLS * WBITS');
    expect(w.times(Dim.param('COLS', 8)).times(2).value).toBe(64);
    expect(Dim.of(3).plus(4).text).toBe('7');
  });
});

describe('width and connection errors are found at elaboration and name both ends', () => {
  it('refuses an assignment between different widths', () => {
    expect(() =>
      defineModule('bad_assign', '', {}, (m) => {
        const a = m.input('a', 3);
        const y = m.output('y', 4);
        m.assign(y, a);
      }),
    ).toThrow(/bad_assign\.y \[4 bits\] = bad_assign\.a \[3 bits\]/);
  });

  it('refuses operators on mismatched widths or signedness', () => {
    expect(() =>
      defineModule('bad_op', '', {}, (m) => {
        const a = m.input('a', 3);
        const b = m.input('b', 4);
        m.output('y', 4);
        a.plus(b);
      }),
    ).toThrow(/'\+' operands differ in width: bad_op\.a \[3 bits\] vs bad_op\.b \[4 bits\]/);
    expect(() =>
      defineModule('bad_sign', '', {}, (m) => {
        const a = m.input('a', 4, { signed: true });
        const b = m.input('b', 4);
        a.times(b);
      }),
    ).toThrow(/mixes signed/);
  });

  it('names the instance, the port, its width and the connected signal on a width mismatch', () => {
    const leaf = adder(8);
    expect(() =>
      defineModule('parent', '', {}, (m) => {
        const clk = m.clock();
        const rst = m.resetN();
        const a = m.input('a', 6, { signed: true });
        const y = m.output('y', 8, { signed: true });
        m.instance('u_add', leaf, { clk, rst_n: rst, a, b: a.sext(8), y });
      }),
    ).toThrow(/parent\.u_add: port add8\.a is 8 bits but is connected to parent\.a \[6 bits, signed\]/);
  });

  it('lists unconnected and unknown ports', () => {
    const leaf = adder(8);
    expect(() =>
      defineModule('p2', '', {}, (m) => {
        const clk = m.clock();
        m.instance('u', leaf, { clk });
      }),
    ).toThrow(/ports of add8 left unconnected: rst_n, a, b, y/);
    expect(() =>
      defineModule('p3', '', {}, (m) => {
        const clk = m.clock();
        m.instance('u', leaf, { clk, nope: clk });
      }),
    ).toThrow(/module add8 has no port 'nope'/);
  });

  it('finds multiple drivers, missing drivers and unread signals', () => {
    const twoDrivers = defineModule('two', '', {}, (m) => {
      const a = m.input('a', 2);
      const y = m.output('y', 2);
      m.assign(y, a);
      m.assign(y.slice(0, 1), a.slice(1, 1));
    });
    expect(() => elaborate(twoDrivers)).toThrow(/two\.y\[0\] has multiple drivers: assign y, assign y\[0\]/);

    const undriven = defineModule('undriven', '', {}, (m) => {
      const a = m.input('a', 2);
      const y = m.output('y', 2);
      m.assign(y.slice(1, 1), a.slice(0, 1));
      m.assign(m.wire('w', 1), a.slice(1, 1));
    });
    expect(() => elaborate(undriven)).toThrow(/undriven\.y\[0\] has no driver/);

    const unread = defineModule('unread', '', {}, (m) => {
      const a = m.input('a', 4);
      const y = m.output('y', 2);
      m.assign(y, a.slice(0, 2));
    });
    expect(() => elaborate(unread)).toThrow(/unread\.a\[2\] is never read/);
  });

  it('checks part-select ranges for every generate iteration', () => {
    const leaf = adder(4);
    const overrun = defineModule('overrun', '', {}, (m) => {
      const clk = m.clock();
      const rst = m.resetN();
      const bus = m.input('bus', 12);
      const out = m.output('out', 16);
      m.generate('g_lane', 'i', 4, (i, s) => {
        s.instance('u_add', leaf, { clk, rst_n: rst, a: bus.lane(i, 4).asSigned(), b: bus.lane(i, 4).asSigned(), y: out.lane(i, 4) });
      });
    });
    expect(() => elaborate(overrun)).toThrow(/overrun\.bus\[15:12\] is out of range: bus has 12 bits/);
  });

  it('refuses a constant that does not fit', () => {
    expect(() => lit(8, 3)).toThrow(WidthError);
    expect(() => lit(-5, 3, true)).toThrow(/does not fit signed 3 bits/);
    expect(lit(-4, 3, true).render()).toBe("3'sb100");
  });
});

describe('elaboration and rendering', () => {
  /** Four adders in a named generate loop over slices of flat buses. */
  function lanes(n: number): ModuleDef {
    const leaf = adder(4);
    return defineModule(`lanes${n}`, 'n adders side by side', { n }, (m) => {
      const N = m.param('LANES', n, 'number of lanes');
      const clk = m.clock();
      const rst = m.resetN();
      const a = m.input('a', N.times(4));
      const b = m.input('b', N.times(4));
      const y = m.output('y', N.times(4));
      const sel = m.input('sel', 1);
      const any = m.output('any_y', 1);
      const ys = m.wire('ys', N.times(4));
      m.generate('g_lane', 'i', N, (i, s) => {
        s.instance('u_add', leaf, {
          clk,
          rst_n: rst,
          a: a.lane(i, 4).asSigned(),
          b: b.lane(i, 4).asSigned(),
          y: ys.lane(i, 4),
        });
      });
      m.assign(y, mux(sel, ys, concat(lit(0, 4), ys.slice(4, n * 4 - 4))));
      m.assign(any, ys.any());
    });
  }
  it('emits each distinct module once, children first', () => {
    const top = defineModule('two_pes', 'two PEs', {}, (m) => {
      const clk = m.clock();
      const rst = m.resetN();
      const pe4 = pe({ wbits: 4, abits: 8, accWidth: 20, addend: 'self' });
      const ins = {
        clk,
        rst_n: rst,
        w_load: m.input('w_load', 1),
        w_in: m.input('w_in', 4, { signed: true }),
        w_swap: m.input('w_swap', 1),
        a_in: m.input('a_in', 8, { signed: true }),
      };
      const mid = m.wire('mid', 20, { signed: true });
      const p0 = m.wire('p0', 12, { signed: true });
      const p1 = m.wire('p1', 12, { signed: true });
      const out = m.output('psum', 20, { signed: true });
      const prods = m.output('prods', 24);
      m.instance('u_pe0', pe4, { ...ins, psum_in: lit(0, 20, true), prod_out: p0, psum_out: mid });
      m.instance('u_pe1', pe({ wbits: 4, abits: 8, accWidth: 20, addend: 'self' }), { ...ins, psum_in: mid, prod_out: p1, psum_out: out });
      m.assign(prods, concat(p1, p0));
    });
    const d = elaborate(top);
    expect(d.modules.map((x) => x.name)).toEqual(['msq_pe_w4a8_acc20', 'two_pes']);
  });

  it('a generate loop design lints clean, compiles in Icarus and synthesizes without latches', () => {
    const d = elaborate(lanes(4));
    const dir = tmpDir();
    const files = renderDesign(d);
    for (const f of files) writeFileSync(join(dir, f.path), f.text);
    const names = files.map((f) => f.path);
    const text = files.at(-1)!.text;
    expect(text).toContain('for (i = 0; i < LANES; i = i + 1) begin : g_lane');
    expect(text).toContain('.a($signed(a[i * 4 +: 4]))');
    const lint = verilatorLint(names, 'lanes4', dir);
    expect(lint.output).toBe('');
    expect(icarusCompile(names, 'lanes4', dir).ok).toBe(true);
    const ys = yosysSynth(names, 'lanes4', dir);
    expect(ys.ok, ys.output.slice(-2000)).toBe(true);
    expect(ys.latches).toBe(0);
  });

  it('renders byte-identical text for the same configuration', () => {
    const a = renderModule(pe({ wbits: 2, abits: 6, accWidth: 16, addend: 'self' }));
    const b = renderModule(pe({ wbits: 2, abits: 6, accWidth: 16, addend: 'self' }));
    expect(a).toBe(b);
    expect(a).toMatch(/^\/\/ -+\n\/\/ msq_pe_w2a6_acc16: /);
    expect(a).toContain('Generated by msq ');
    expect(a).toContain('"accWidth": 16');
  });
});


describe('formal properties (ModuleBuilder.property)', () => {
  const counter = (withProps: boolean) =>
    defineModule('prop_counter', 'a counter that wraps at 5', {}, (m) => {
      m.clock();
      m.resetN();
      const q = m.reg('q', 3, { doc: 'count' });
      const top = m.output('at_top', 1);
      m.update(q, mux(q.eq(lit(5, 3)), lit(0, 3), q.plus(lit(1, 3))));
      m.assign(top, q.eq(lit(5, 3)));
      if (withProps) {
        m.property('assert', 'a_range', lit(5, 3).ge(q), 'the count stays in 0..5');
        m.property('cover', 'c_top', q.eq(lit(5, 3)), 'the count reaches 5');
      }
    });
  it('render inside `ifdef FORMAL` after the body, leave the rest of the module as it was, and stay lint-clean', () => {
    const plain = renderModule(counter(false));
    const text = renderModule(counter(true));
    expect(text).toMatch(/\n\n`ifdef FORMAL\n[\s\S]*always @\(posedge clk\) begin\n {4}if \(rst_n\) begin\n[\s\S]*a_range: assert \(3'b101 >= q\);\n[\s\S]*c_top: cover \(q == 3'b101\);\n[\s\S]*`endif\nendmodule/);
    expect(text.replace(/`ifdef FORMAL\n[\s\S]*?`endif\n/, '')).toBe(plain);
    const dir = tmpDir();
    writeFileSync(join(dir, 'prop_counter.v'), text);
    expect(verilatorLint(['prop_counter.v'], 'prop_counter', dir).output).toBe('');
    expect(icarusCompile(['prop_counter.v'], 'prop_counter', dir).ok).toBe(true);
  });
  it('refuse a label used twice, a wide expression and a property before the clock', () => {
    expect(() =>
      defineModule('p2', 'x', {}, (m) => {
        m.clock();
        m.resetN();
        const a = m.input('a', 2);
        m.property('assert', 'a_x', a.bit(0), 'x');
        m.property('cover', 'a_x', a.bit(1), 'y');
      }),
    ).toThrow(/property label 'a_x' is used twice/);
    expect(() =>
      defineModule('p3', 'x', {}, (m) => {
        m.clock();
        m.resetN();
        m.property('assert', 'a_w', m.input('a', 2), 'x');
      }),
    ).toThrow(/property a_w must be 1 bit/);
    expect(() => defineModule('p4', 'x', {}, (m) => m.property('assert', 'a_c', m.input('a', 1), 'x'))).toThrow(/declare clock\(\) and resetN\(\) before property a_c/);
  });
});

describe('modules without reset (ModuleBuilder.noReset)', () => {
  const pipe = (enable: boolean) =>
    defineModule(`pipe_nr${enable ? '_en' : ''}`, 'a two-stage pipeline without reset', {}, (m) => {
      m.clock();
      m.noReset('the stages carry no valid bit');
      const a = m.input('a', 8);
      const en = enable ? m.input('en', 1) : null;
      const y = m.output('y', 8);
      const s1 = m.reg('s1_q', 8);
      const s2 = m.reg('s2_q', 8);
      m.update(s1, a.plus(lit(1, 8)), en ? { enable: en } : {});
      m.update(s2, s1);
      m.assign(y, s2);
    });

  it('render registers without a reset branch, with their enables, and are clean in all three tools', () => {
    for (const enable of [false, true]) {
      const def = pipe(enable);
      expect(def.reset).toBeNull();
      expect(def.resetless).toBe('the stages carry no valid bit');
      const text = renderModule(def);
      expect(text).not.toMatch(/rst_n/);
      expect(text).toContain('// the stages carry no valid bit'); // the reason, where noReset was called
      expect(text).toMatch(/always @\(posedge clk\) begin\n\s+s2_q <= s1_q;\n\s+end/);
      if (enable) expect(text).toMatch(/always @\(posedge clk\) begin\n\s+if \(en\) begin\n\s+s1_q <= a \+ 8'h1;\n\s+end\n\s+end/);
      const dir = tmpDir();
      writeFileSync(join(dir, `${def.name}.v`), text);
      expect(verilatorLint([`${def.name}.v`], def.name, dir).output).toBe('');
      expect(icarusCompile([`${def.name}.v`], def.name, dir).ok).toBe(true);
      expect(yosysSynth([`${def.name}.v`], def.name, dir).ok).toBe(true);
    }
  });

  it('refuse a register before the reset is declared either way, a reset and noReset together, and a flop without reset', () => {
    const bad = (body: Parameters<typeof defineModule>[3]) => () => defineModule('bad', 'bad', {}, body);
    expect(bad((m) => (m.clock(), m.reg('q', 1)))).toThrow(/declare clock\(\) and resetN\(\) \(or noReset\(\)\) before register q/);
    expect(bad((m) => (m.clock(), m.resetN(), m.noReset('x')))).toThrow(/a module with a reset cannot also have none/);
    expect(bad((m) => (m.clock(), m.noReset('x'), m.resetN()))).toThrow(/a module without reset cannot declare one/);
    expect(bad((m) => (m.clock(), m.noReset('x'), m.flop('f', 1)))).toThrow(/flop f needs the module's reset/);
  });
});

describe('sign extension of a 1-bit signal', () => {
  it('replicates the signal itself (a scalar has no [0] select) and lints clean', () => {
    const def = defineModule('sext1', 'sign extension of a 1-bit input', {}, (m) => {
      const a = m.input('a', 1);
      const y = m.output('y', 4);
      m.assign(y, a.asSigned().sext(4).asUnsigned());
    });
    const text = renderModule(def);
    expect(text).toContain('assign y = $unsigned($signed({{3{a}}, a}));');
    const dir = tmpDir();
    writeFileSync(join(dir, 'sext1.v'), text);
    expect(verilatorLint(['sext1.v'], 'sext1', dir).output).toBe('');
  });
});
