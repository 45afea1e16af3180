import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pe, type PeConfig } from '../generator/blocks/pe.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderDesign } from '../generator/dsl/render.ts';
import { writeCycleBench, runBench, type Simulator } from '../testbench/cycle-harness.ts';
import { peSweepVectors, checkPeCyclesIndependently, peLaneVectors, checkLaneCyclesIndependently } from '../testbench/pe-vectors.ts';
import { verilatorLint, icarusCompile, yosysSynth } from '../testbench/tools.ts';
import { tmpDir } from './helpers.ts';

function emit(cfg: PeConfig, dir: string): { files: string[]; top: string } {
  const d = elaborate(pe(cfg));
  const files = renderDesign(d);
  for (const f of files) writeFileSync(join(dir, f.path), f.text);
  return { files: files.map((f) => f.path), top: d.top.name };
}

describe('PE RTL is clean in all three tools', () => {
  const configs: PeConfig[] = [];
  for (const wbits of [2, 4]) for (const abits of [4, 6, 8]) configs.push({ wbits, abits, accWidth: wbits + abits + 8, addend: 'self' });
  configs.push({ wbits: 4, abits: 8, accWidth: 24, addend: 'lane', laneWidth: 18 });

  for (const cfg of configs) {
    const label = `w${cfg.wbits}a${cfg.abits} ${cfg.addend}`;
    it(`${label}: verilator -Wall, iverilog, yosys check -assert`, () => {
      const dir = tmpDir();
      const { files, top } = emit(cfg, dir);
      const lint = verilatorLint(files, top, dir);
      expect(lint.output).toBe('');
      expect(lint.ok).toBe(true);
      const iv = icarusCompile(files, top, dir);
      expect(iv.output).toBe('');
      expect(iv.ok).toBe(true);
      const ys = yosysSynth(files, top, dir);
      expect(ys.ok, ys.output.slice(-3000)).toBe(true);
      expect(ys.latches).toBe(0);
      expect(ys.cells).toBeGreaterThan(0);
    });
  }
});

describe('PE simulation: every operand pair through the ports', () => {
  for (const wbits of [2, 4]) {
    const cfg = { wbits, abits: 8, accWidth: wbits + 8 + 6 };
    const vectors = peSweepVectors(cfg);

    it(`w${wbits}a8: golden cycles agree with plain multiplication and wrap-around addition`, () => {
      expect(checkPeCyclesIndependently(cfg, vectors)).toEqual([]);
      const products = vectors.filter((v) => v.product).length;
      expect(products).toBe((1 << wbits) * 256 + 1);
    });

    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`w${wbits}a8 on ${sim}: all ${vectors.length} cycles match`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(pe({ ...cfg, addend: 'self' }), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});

describe('PE with the ReCoN lane as addend: lane register, then the adder', () => {
  for (const wbits of [2, 4]) {
    const cfg = { wbits, abits: 8, accWidth: wbits === 4 ? 25 : 21, laneWidth: wbits === 4 ? 22 : 18 };
    const vectors = peLaneVectors(cfg, 600, 31 + wbits);

    it(`w${wbits}a8 lane: golden cycles agree with psum_out(t) = psum_in(t) + lane_in(t-1)`, () => {
      expect(checkLaneCyclesIndependently(cfg, vectors)).toEqual([]);
    });

    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`w${wbits}a8 lane on ${sim}: all ${vectors.length} cycles match the cycle model`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(pe({ ...cfg, addend: 'lane' }), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});

describe('a wrong expectation is reported, not hidden', () => {
  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`${sim}: one corrupted expected word gives exactly one failure with its cycle`, () => {
      const cfg = { wbits: 2, abits: 4, accWidth: 12 };
      const vectors = peSweepVectors(cfg);
      const dir = tmpDir();
      const { files } = writeCycleBench(pe({ ...cfg, addend: 'self' }), vectors, dir);
      const path = join(dir, 'expect.hex');
      const lines = readFileSync(path, 'utf8').split('\n');
      const victim = 40;
      // flip the lowest bit of prod_out (the first output field) in one cycle
      lines[victim] = (BigInt('0x' + lines[victim]!) ^ 1n).toString(16).padStart(lines[victim]!.length, '0');
      writeFileSync(path, lines.join('\n'));
      const r = runBench(dir, files, sim);
      expect(r.failed).toBe(1);
      expect(r.passed).toBe(vectors.length - 1);
      expect(r.mismatches[0]).toMatch(new RegExp(`^MISMATCH cycle ${victim} prod_out`));
    });
  }
});
