import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lit } from '../generator/dsl/expr.ts';
import { defineModule, type ModuleDef } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderDesign, renderModule } from '../generator/dsl/render.ts';
import { writeCycleBench, runBench, type CycleVector, type Simulator } from '../testbench/cycle-harness.ts';
import { verilatorLint, icarusCompile, yosysSynth, run } from '../testbench/tools.ts';
import { Rng } from '../testbench/rng.ts';
import { tmpDir } from './helpers.ts';

/**
 * A RAM with one write port and three asynchronous reads: one at module level,
 * two inside a generate loop (one per lane of a flat address bus).
 */
function ramDemo(depth: number, width: number): ModuleDef {
  const aw = Math.log2(depth);
  return defineModule(`ram_demo_d${depth}_w${width}`, 'memory primitive demo', { depth, width }, (m) => {
    const W = m.param('W', width, 'word width');
    const DEPTH = m.param('DEPTH', depth, 'words');
    m.clock();
    const waddr = m.input('waddr', aw);
    const wdata = m.input('wdata', W, { signed: true });
    const we = m.input('we', 1);
    const raddr = m.input('raddr', aw);
    const laneAddr = m.input('lane_addr', 2 * aw, { doc: 'two read addresses' });
    const rdata = m.output('rdata', W, { signed: true });
    const laneData = m.output('lane_data', W.times(2));
    const mem = m.memory('mem', W, DEPTH, { signed: true, doc: 'the words' });
    mem.write(waddr, wdata, we);
    m.assign(rdata, mem.read(raddr));
    m.generate('g_lane', 'i', 2, (i, s) => {
      const rd = s.let('rd', mem.read(laneAddr.lane(i, aw)), 'word at this lane address');
      s.assign(laneData.lane(i, W), rd.asUnsigned());
    });
  });
}

/**
 * A RAM with one write port, one asynchronous read and two registered read
 * ports: read-first with an enable, and write-first (transparent).
 */
function ramSyncDemo(depth: number, width: number): ModuleDef {
  const aw = Math.log2(depth);
  return defineModule(`ram_sync_demo_d${depth}_w${width}`, 'registered read ports demo', { depth, width }, (m) => {
    const W = m.param('W', width, 'word width');
    const DEPTH = m.param('DEPTH', depth, 'words');
    m.clock();
    m.resetN();
    const waddr = m.input('waddr', aw);
    const wdata = m.input('wdata', W);
    const we = m.input('we', 1);
    const raddr = m.input('raddr', aw, { doc: 'asynchronous read' });
    const saddr = m.input('saddr', aw, { doc: 'read-first registered read' });
    const re = m.input('re', 1);
    const taddr = m.input('taddr', aw, { doc: 'write-first registered read' });
    const mem = m.memory('mem', W, DEPTH, { doc: 'the words' });
    mem.write(waddr, wdata, we);
    m.assign(m.output('rdata', W), mem.read(raddr));
    m.assign(m.output('sdata', W), mem.readRegistered(m, 'sdata_q', saddr, { enable: re }));
    m.assign(m.output('tdata', W), mem.readRegistered(m, 'tdata_q', taddr, { transparent: true, doc: 'the word at taddr, new data on a collision' }));
  });
}

describe('DSL memories: elaboration checks', () => {
  const build = (f: Parameters<typeof defineModule>[3]): ModuleDef => defineModule('bad_mem', '', {}, f);

  it('requires a power-of-two depth of at least 2', () => {
    for (const depth of [0, 1, 3, 6, 12]) {
      expect(() => build((m) => void (m.clock(), m.memory('mem', 8, depth)))).toThrow(/bad_mem\.mem: memory depth \d+ = \d+ must be a power of two, at least 2/);
    }
    expect(() => build((m) => void (m.clock(), m.memory('mem', 0, 4)))).toThrow(/memory width 0 = 0 must be at least 1/);
  });

  it('checks address widths and signedness on reads and the write port', () => {
    expect(() =>
      build((m) => {
        m.clock();
        const mem = m.memory('mem', 8, 16);
        mem.read(m.input('a', 3));
      }),
    ).toThrow(/bad_mem\.mem: read address bad_mem\.a \[3 bits\] must be unsigned and 4 bits \(log2 of depth 16\)/);
    expect(() =>
      build((m) => {
        m.clock();
        const mem = m.memory('mem', 8, 16);
        mem.write(m.input('a', 4, { signed: true }), m.input('d', 8));
      }),
    ).toThrow(/write address bad_mem\.a \[4 bits, signed\] must be unsigned and 4 bits/);
  });

  it('checks write data width, signedness and the enable width', () => {
    expect(() =>
      build((m) => {
        m.clock();
        m.memory('mem', 8, 4).write(m.input('a', 2), m.input('d', 7));
      }),
    ).toThrow(/write data bad_mem\.d \[7 bits\] must be 8 bits, unsigned like the memory/);
    expect(() =>
      build((m) => {
        m.clock();
        m.memory('mem', 8, 4, { signed: true }).write(m.input('a', 2), m.input('d', 8));
      }),
    ).toThrow(/must be 8 bits, signed like the memory/);
    expect(() =>
      build((m) => {
        m.clock();
        m.memory('mem', 8, 4).write(m.input('a', 2), m.input('d', 8), m.input('we', 2));
      }),
    ).toThrow(/write enable bad_mem\.we \[2 bits\] must be 1 bit/);
  });

  it('allows exactly one write port, requires it, and requires a read', () => {
    expect(() =>
      build((m) => {
        m.clock();
        const mem = m.memory('mem', 8, 4);
        const a = m.input('a', 2);
        const d = m.input('d', 8);
        mem.write(a, d);
        mem.write(a, d);
      }),
    ).toThrow(/bad_mem\.mem: memory has a write port already \(one write port per memory\)/);
    expect(() =>
      build((m) => {
        m.clock();
        const mem = m.memory('mem', 8, 4);
        m.assign(m.output('y', 8), mem.read(m.input('a', 2)));
      }),
    ).toThrow(/bad_mem: memory mem has no write port/);
    const unread = build((m) => {
      m.clock();
      m.memory('mem', 8, 4).write(m.input('a', 2), m.input('d', 8));
    });
    expect(() => elaborate(unread)).toThrow(/bad_mem: memory mem is never read/);
  });

  it('registered reads: the address is checked; a transparent port needs the write port first; the register needs clock and reset', () => {
    expect(() =>
      build((m) => {
        m.clock();
        m.resetN();
        const mem = m.memory('mem', 8, 16);
        mem.write(m.input('a', 4), m.input('d', 8));
        mem.readRegistered(m, 'rd_q', m.input('r', 3));
      }),
    ).toThrow(/bad_mem\.mem: registered read address bad_mem\.r \[3 bits\] must be unsigned and 4 bits/);
    expect(() =>
      build((m) => {
        m.clock();
        m.resetN();
        const mem = m.memory('mem', 8, 4);
        mem.readRegistered(m, 'rd_q', m.input('r', 2), { transparent: true });
      }),
    ).toThrow(/bad_mem\.mem: a transparent read port needs the write port declared first/);
    expect(() =>
      build((m) => {
        m.clock();
        const mem = m.memory('mem', 8, 4);
        mem.write(m.input('a', 2), m.input('d', 8));
        mem.readRegistered(m, 'rd_q', m.input('r', 2));
      }),
    ).toThrow(/declare clock\(\) and resetN\(\) \(or noReset\(\)\) before register rd_q/);
  });

  it('needs the module clock first and a fresh name; a read cannot be assigned to', () => {
    expect(() => build((m) => void m.memory('mem', 8, 4))).toThrow(/declare clock\(\) before memory mem/);
    expect(() =>
      build((m) => {
        m.clock();
        m.input('mem', 1);
        m.memory('mem', 8, 4);
      }),
    ).toThrow(/'mem' is declared twice/);
  });

  it('marks the clock as read by the write port even without registers (no reset needed)', () => {
    const d = elaborate(ramDemo(4, 6));
    expect(d.top.memories.map((x) => x.name)).toEqual(['mem']);
    expect(d.top.reset).toBeNull();
  });
});

describe('DSL memories: rendering and the three tools', () => {
  it('renders the array declaration, one clocked write port without reset, and reads as expressions', () => {
    const text = renderModule(ramDemo(8, 12));
    expect(text).toContain('reg  signed [W - 1:0] mem [0:DEPTH - 1];');
    expect(text).toMatch(/always @\(posedge clk\) begin\n {4}if \(we\) begin\n {6}mem\[waddr\] <= wdata;\n {4}end\n {2}end/);
    expect(text).not.toMatch(/rst_n/);
    expect(text).toContain('assign rdata = mem[raddr];');
    expect(text).toContain('assign rd = mem[lane_addr[i * 3 +: 3]];');
    const noEnable = defineModule('ram_noen', '', {}, (m) => {
      m.clock();
      const mem = m.memory('mem', 4, 2);
      mem.write(m.input('a', 1), m.input('d', 4));
      m.assign(m.output('y', 4), mem.read(m.input('r', 1)));
    });
    expect(renderModule(noEnable)).toMatch(/always @\(posedge clk\) begin\n {4}mem\[a\] <= d;\n {2}end/);
  });

  it('renders a registered read as a clocked register of the word: read-first, or write-first with the write data', () => {
    const text = renderModule(ramSyncDemo(8, 12));
    expect(text).toContain('reg  [W - 1:0] sdata_q;');
    expect(text).toMatch(/\/\/ registered read port of mem: the word at saddr is in sdata_q the cycle after the edge \(read-first/);
    expect(text).toMatch(/always @\(posedge clk\) begin\n {4}if \(!rst_n\) begin\n {6}sdata_q <= \{W\{1'b0\}\};\n {4}end else if \(re\) begin\n {6}sdata_q <= mem\[saddr\];/);
    expect(text).toMatch(/the word at taddr is in tdata_q the cycle after the edge \(write-first:/);
    expect(text).toContain('tdata_q <= (we & (waddr == taddr)) ? wdata : mem[taddr];');
    expect(text).toContain('assign rdata = mem[raddr];');
  });

  it('Yosys merges the registered reads into the memory: synchronous ports, one transparent, next to the asynchronous one', () => {
    const dir = tmpDir();
    const files = renderDesign(elaborate(ramSyncDemo(8, 12)));
    for (const f of files) writeFileSync(join(dir, f.path), f.text);
    const r = run('yosys', ['-p', `read_verilog ${files.map((f) => f.path).join(' ')}; proc; opt; memory -nomap; dump t:$mem_v2`], dir);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/parameter \\WR_PORTS 1\b/);
    expect(r.output).toMatch(/parameter \\RD_PORTS 3\b/);
    const clk = /parameter \\RD_CLK_ENABLE 3'([01]{3})\b/.exec(r.output)?.[1];
    expect([...clk!].filter((x) => x === '1')).toHaveLength(2); // two synchronous read ports
    const trans = /parameter \\RD_TRANSPARENCY_MASK 3'([01]{3})\b/.exec(r.output)?.[1];
    expect([...trans!].filter((x) => x === '1')).toHaveLength(1); // one of them write-first
    const ys = yosysSynth(files.map((f) => f.path), files.at(-1)!.path.replace(/\.v$/, ''), dir);
    expect(ys.ok, ys.output.slice(-2000)).toBe(true);
    expect(ys.latches).toBe(0);
  });

  for (const [depth, width] of [
    [2, 1],
    [8, 12],
    [64, 33],
  ] as const) {
    it(`depth ${depth} x ${width} bits: Verilator -Wall silent, Icarus compiles, Yosys infers one memory and no latches`, () => {
      const dir = tmpDir();
      const d = elaborate(ramDemo(depth, width));
      const files = renderDesign(d);
      for (const f of files) writeFileSync(join(dir, f.path), f.text);
      const names = files.map((f) => f.path);
      expect(verilatorLint(names, d.top.name, dir).output).toBe('');
      expect(icarusCompile(names, d.top.name, dir).ok).toBe(true);
      // The memory pass (without mapping to flip-flops) must find exactly one memory with one write and three read ports.
      const inferred = run(
        'yosys',
        ['-q', '-p', `read_verilog ${names.join(' ')}; proc; opt; memory -nomap; select -assert-count 1 t:$mem_v2; select -assert-none t:$dlatch; stat -width`, '-l', 'mem.log'],
        dir,
      );
      expect(inferred.ok, inferred.output).toBe(true);
      const ys = yosysSynth(names, d.top.name, dir);
      expect(ys.ok, ys.output.slice(-2000)).toBe(true);
      expect(ys.latches).toBe(0);
    });
  }

  it('Yosys sees the port counts: one write, three asynchronous reads', () => {
    const dir = tmpDir();
    const files = renderDesign(elaborate(ramDemo(8, 12)));
    for (const f of files) writeFileSync(join(dir, f.path), f.text);
    const r = run('yosys', ['-p', `read_verilog ${files.map((f) => f.path).join(' ')}; proc; opt; memory -nomap; dump t:$mem_v2`], dir);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/parameter \\WR_PORTS 1\b/);
    expect(r.output).toMatch(/parameter \\RD_PORTS 3\b/);
    expect(r.output).toMatch(/parameter \\RD_CLK_ENABLE 3'000\b/); // asynchronous reads
    expect(r.output).toMatch(/parameter \\SIZE 8\b/);
  });
});

describe('DSL memories: simulated semantics match a TS model on Verilator and Icarus', () => {
  // Per cycle: inputs applied, clock edge (the write happens), outputs compared.
  // An asynchronous read then shows the memory after this cycle's write.
  const depth = 8;
  const width = 12;
  const rng = new Rng(31);
  const mem: (bigint | undefined)[] = new Array(depth).fill(undefined);
  const vectors: CycleVector[] = [];
  for (let t = 0; t < 300; t++) {
    const waddr = rng.int(0, depth - 1);
    const wdata = BigInt(rng.int(-2048, 2047));
    const we = rng.float() < 0.4 ? 1n : 0n;
    const raddr = rng.float() < 0.3 ? waddr : rng.int(0, depth - 1);
    const l0 = rng.int(0, depth - 1);
    const l1 = rng.float() < 0.5 ? l0 : rng.int(0, depth - 1);
    if (we) mem[waddr] = wdata;
    const known = [raddr, l0, l1].every((a) => mem[a] !== undefined); // unwritten words are X in Icarus
    const mask = (1n << BigInt(width)) - 1n;
    vectors.push({
      inputs: { waddr: BigInt(waddr), wdata, we, raddr: BigInt(raddr), lane_addr: BigInt(l0 | (l1 << 3)) },
      expect: known ? { rdata: mem[raddr]!, lane_data: (mem[l0]! & mask) | ((mem[l1]! & mask) << BigInt(width)) } : null,
    });
  }
  const checked = vectors.filter((v) => v.expect).length;
  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`${sim}: ${vectors.length} cycles, ${checked} checked`, () => {
      expect(checked).toBeGreaterThan(200);
      const dir = tmpDir();
      const { files } = writeCycleBench(ramDemo(depth, width), vectors, dir);
      const r = runBench(dir, files, sim);
      expect(r.mismatches).toEqual([]);
      expect(r.failed).toBe(0);
      expect(r.passed).toBe(checked);
    });
  }

  // Registered reads: per cycle, the edge loads sdata_q (when re) with the old word and
  // tdata_q with the new one on a collision; an unwritten word or a reset makes them X / 0.
  {
    const rng = new Rng(47);
    const mem: (bigint | undefined)[] = new Array(depth).fill(undefined);
    let s: bigint | undefined = 0n;
    let t: bigint | undefined = 0n;
    const svec: CycleVector[] = [];
    let collisions = 0;
    let held = 0;
    for (let c = 0; c < 400; c++) {
      const rstN = c === 0 || rng.float() < 0.03 ? 0n : 1n;
      const waddr = rng.int(0, depth - 1);
      const wdata = BigInt(rng.int(0, 4095));
      const we = rng.float() < 0.5 ? 1n : 0n;
      const raddr = rng.int(0, depth - 1);
      const saddr = rng.float() < 0.4 ? waddr : rng.int(0, depth - 1);
      const re = rng.float() < 0.7 ? 1n : 0n;
      const taddr = rng.float() < 0.4 ? waddr : rng.int(0, depth - 1);
      if (rstN === 0n) {
        s = 0n;
        t = 0n;
      } else {
        if (re) s = mem[saddr];
        else held++;
        t = we && waddr === taddr ? wdata : mem[taddr];
        if (we && waddr === taddr) collisions++;
      }
      if (we) mem[waddr] = wdata;
      const r = mem[raddr];
      const known = r !== undefined && s !== undefined && t !== undefined;
      svec.push({
        inputs: { rst_n: rstN, waddr: BigInt(waddr), wdata, we, raddr: BigInt(raddr), saddr: BigInt(saddr), re, taddr: BigInt(taddr) },
        expect: known ? { rdata: r, sdata: s!, tdata: t! } : null,
      });
    }
    const sChecked = svec.filter((v) => v.expect).length;
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`registered reads on ${sim}: ${svec.length} cycles, ${sChecked} checked, ${collisions} same-edge collisions`, () => {
        expect(sChecked).toBeGreaterThan(250);
        expect(collisions).toBeGreaterThan(40);
        expect(held).toBeGreaterThan(40);
        const dir = tmpDir();
        const { files } = writeCycleBench(ramSyncDemo(depth, 12), svec, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(sChecked);
      });
    }
  }

  it('a write without enable and a literal address also elaborate', () => {
    const d = defineModule('ram_lit', '', {}, (m) => {
      m.clock();
      const mem = m.memory('mem', 4, 2);
      mem.write(lit(1, 1), m.input('d', 4));
      m.assign(m.output('y', 4), mem.read(m.input('r', 1)));
    });
    expect(renderModule(d)).toContain("mem[1'b1] <= d;");
  });
});
