import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleDef } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderDesign } from '../generator/dsl/render.ts';
import { intToFp32, intToFp32ModuleName, checkIntToFp32Config, INT2FP_STAGES, type IntToFp32Config } from '../generator/blocks/int-to-fp32.ts';
import { fp32Add, fp32AddModuleName, FP32_ADD_MODULE, FP32_ADD_STAGES } from '../generator/blocks/fp32-add.ts';
import {
  intToFp32Bits,
  intToFp32BitsExact,
  fp32AddBits,
  fp32AddBitsExact,
  fp32AccumulateBits,
  fp32Bits,
  fp32FromBits,
  FP32_CANONICAL_NAN,
} from '../quant/hwmodel/fp32.ts';
import {
  XorShift32,
  intToFp32DirectedCases,
  intToFp32RandomCases,
  intToFp32Vectors,
  fp32AddDirectedCases,
  fp32AddRandomCases,
  fp32AddVectors,
  pipelineVectors,
  INT2FP_LATENCY,
  FP32_ADD_LATENCY,
} from '../testbench/fp32-vectors.ts';
import { writeCycleBench, runBench, parseSimOutput, type CycleVector, type Simulator, type SimResult } from '../testbench/cycle-harness.ts';
import { verilatorLint, icarusCompile, yosysSynth, run } from '../testbench/tools.ts';
import { InputError } from '../common/errors.ts';
import { tmpDir } from './helpers.ts';

const hex = (x: number): string => '0x' + (x >>> 0).toString(16).padStart(8, '0');

describe('FP32 reference models agree with an exact BigInt rounding', () => {
  it('2 ** e is the exact power of two for every binary64 exponent -1074..1023', () => {
    const dv = new DataView(new ArrayBuffer(8));
    for (let e = -1074; e <= 1023; e++) {
      // binary64 encoding of 2^e: a normal with fraction 0, or a subnormal with one fraction bit
      dv.setBigUint64(0, e >= -1022 ? BigInt(e + 1023) << 52n : 1n << BigInt(e + 1074));
      expect(2 ** e).toBe(dv.getFloat64(0));
    }
  });

  it('the exact references give the hand-checked results', () => {
    expect(hex(intToFp32BitsExact(1n, 0))).toBe('0x3f800000');
    expect(hex(intToFp32BitsExact(-6n, -2))).toBe('0xbfc00000'); // -1.5
    expect(hex(intToFp32BitsExact(0n, 100))).toBe('0x00000000');
    expect(hex(intToFp32BitsExact(1n, -149))).toBe('0x00000001');
    expect(hex(intToFp32BitsExact(1n, -150))).toBe('0x00000000'); // tie to even (0)
    expect(hex(intToFp32BitsExact(3n, -150))).toBe('0x00000002'); // tie to even (2)
    expect(hex(intToFp32BitsExact(-1n, -151))).toBe('0x80000000'); // underflow keeps the sign
    expect(hex(intToFp32BitsExact((1n << 24n) - 1n, -150))).toBe('0x00800000'); // rounds up into the normals
    expect(hex(intToFp32BitsExact((1n << 24n) + 1n, 0))).toBe('0x4b800000'); // tie down to even
    expect(hex(intToFp32BitsExact((1n << 24n) + 3n, 0))).toBe('0x4b800002'); // tie up to even
    expect(hex(intToFp32BitsExact((1n << 24n) - 1n, 104))).toBe('0x7f7fffff');
    expect(hex(intToFp32BitsExact((1n << 25n) - 1n, 103))).toBe('0x7f800000'); // tie above max -> Inf
    expect(hex(fp32AddBitsExact(0x3f800000, 0x3f800000))).toBe('0x40000000');
    expect(hex(fp32AddBitsExact(0x3f800000, 0xb3000000))).toBe('0x3f800000'); // 1 - 2^-25: tie to 1
    expect(hex(fp32AddBitsExact(0x3f800000, 0xb3000001))).toBe('0x3f7fffff');
    expect(hex(fp32AddBitsExact(0x00400000, 0x00400000))).toBe('0x00800000');
    expect(hex(fp32AddBitsExact(0x00000000, 0x80000000))).toBe('0x00000000');
    expect(hex(fp32AddBitsExact(0x80000000, 0x80000000))).toBe('0x80000000');
    expect(hex(fp32AddBitsExact(0x3fc00000, 0xbfc00000))).toBe('0x00000000');
    expect(hex(fp32AddBitsExact(0x7f800000, 0xff800000))).toBe('0x7fc00000');
    expect(hex(fp32AddBitsExact(0x7f7fffff, 0x73000000))).toBe('0x7f800000');
  });

  it('NaN results are the canonical 0x7FC00000 whatever the payloads', () => {
    for (const nan of [0x7fc00000, 0x7f800001, 0x7fabcdef, 0xffc00001, 0xffffffff]) {
      expect(hex(fp32AddBits(nan, 0x3f800000))).toBe(hex(FP32_CANONICAL_NAN));
      expect(hex(fp32AddBits(0xbf800000, nan))).toBe(hex(FP32_CANONICAL_NAN));
    }
    expect(hex(fp32Bits(NaN))).toBe(hex(FP32_CANONICAL_NAN));
    expect(Number.isNaN(fp32FromBits(0xffabcdef))).toBe(true);
  });

  it('int-to-fp32 model = exact rounding on directed and 60k random cases (INTW 2..53, EXPW 2..11)', () => {
    let checked = 0;
    const r = new XorShift32(0x1234);
    for (let i = 0; i < 30; i++) {
      const c: IntToFp32Config = { intWidth: i === 0 ? 2 : i === 1 ? 53 : r.int(2, 53), expWidth: i === 0 ? 2 : i === 1 ? 11 : r.int(2, 11) };
      for (const { value, exp } of [...intToFp32DirectedCases(c), ...intToFp32RandomCases(c, 2000, 100 + i)]) {
        const got = intToFp32Bits(value, exp);
        const want = intToFp32BitsExact(value, exp);
        if (got !== want) expect(`${value} * 2^${exp}: ${hex(got)}`).toBe(hex(want));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60_000);
  });

  it('fp32-add model = exact rational addition on directed and 60k random cases', () => {
    const cases = [...fp32AddDirectedCases(), ...fp32AddRandomCases(60_000, 0xfeed)];
    for (const { a, b } of cases) {
      const got = fp32AddBits(a, b);
      const want = fp32AddBitsExact(a, b);
      if (got !== want) expect(`${hex(a)} + ${hex(b)}: ${hex(got)}`).toBe(hex(want));
    }
  });

  it('the accumulation step is the contract expression acc = fround(acc + fround(int * 2^exp)), in group order', () => {
    const r = new XorShift32(99);
    let acc = 0;
    let accBits = 0;
    for (let g = 0; g < 500; g++) {
      const value = BigInt(r.int(-(2 ** 30), 2 ** 30));
      const exp = r.int(-60, 20);
      acc = Math.fround(acc + Math.fround(Number(value) * 2 ** exp));
      accBits = fp32AccumulateBits(accBits, value, exp);
      expect(hex(accBits)).toBe(hex(fp32Bits(acc)));
    }
  });
});

function emit(def: ModuleDef, dir: string): string[] {
  const files = renderDesign(elaborate(def));
  for (const f of files) writeFileSync(join(dir, f.path), f.text);
  return files.map((f) => f.path);
}

describe('FP32 units: configuration and RTL checks', () => {
  it('module names encode the widths; out-of-range widths are refused with the allowed range', () => {
    expect(intToFp32ModuleName({ intWidth: 48, expWidth: 10 })).toBe('msq_int2fp32_i48_e10');
    expect(FP32_ADD_MODULE).toBe('msq_fp32_add');
    expect(() => checkIntToFp32Config({ intWidth: 54, expWidth: 10 })).toThrow(InputError);
    expect(() => checkIntToFp32Config({ intWidth: 1, expWidth: 10 })).toThrow(/allowed integers 2\.\.53/);
    expect(() => checkIntToFp32Config({ intWidth: 24, expWidth: 12 })).toThrow(/allowed integers 2\.\.11/);
  });

  it('both units are pipelines: a section comment per stage, named stage registers, the result registered', () => {
    expect(INT2FP_STAGES).toBe(5);
    expect(FP32_ADD_STAGES).toBe(6);
    expect(INT2FP_LATENCY).toBe(INT2FP_STAGES);
    expect(FP32_ADD_LATENCY).toBe(FP32_ADD_STAGES);
    for (const [def, stages, regs] of [
      [intToFp32({ intWidth: 27, expWidth: 10 }), INT2FP_STAGES, ['s1_value_q', 's1_local_below_q', 's1_block_any_q', 's1_e_top_q', 's2_mag_q', 's2_stop_q', 's3_lsh_q', 's3_win_q', 's4_sig_q', 's4_e_base_q', 'result_q']],
      [fp32Add(), FP32_ADD_STAGES, ['s1_big_sig_q', 's1_small_sig_q', 's1_shift_q', 's1_rev_q', 's2_gen_q', 's2_prop_q', 's3_sum_q', 's4_lsh_q', 's5_sig_q', 's5_e_base_q', 'result_q']],
    ] as const) {
      const text = renderDesign(elaborate(def)).at(-1)!.text;
      for (let k = 1; k <= stages; k++) expect(text).toMatch(new RegExp(`// ---- stage ${k}: `));
      expect(text).not.toMatch(new RegExp(`// ---- stage ${stages + 1}: `));
      for (const r of regs) expect(text).toMatch(new RegExp(`\\breg  (signed )?(\\[[^\\]]+\\] )?${r};`));
      expect(text).toContain('assign result = result_q;');
      expect(def.clock?.name).toBe('clk');
      // no reset: the stages carry no valid bit (the post-array unit keeps those)
      expect(def.reset).toBeNull();
      expect(def.resetless).toMatch(/no valid bit/);
      expect(text).not.toMatch(/rst_n/);
    }
  });

  it('the stage split is a choice of cuts between the steps: other splits get their own module names', () => {
    expect(intToFp32ModuleName({ intWidth: 27, expWidth: 10, cuts: ['below', 'magnitude', 'lzc', 'normalize'] })).toBe('msq_int2fp32_i27_e10');
    expect(intToFp32ModuleName({ intWidth: 27, expWidth: 10, cuts: ['magnitude', 'normalize'] })).toBe('msq_int2fp32_i27_e10_c01010');
    expect(fp32AddModuleName({ cuts: ['order', 'add'] })).toBe('msq_fp32_add_c101000');
    const two = renderDesign(elaborate(fp32Add({ cuts: ['add'] }))).at(-1)!.text;
    expect(two).toMatch(/\/\/ ---- stage 1: specials, unpack, order by exponent, exponent difference; align the smaller/);
    expect(two).toMatch(/\/\/ ---- stage 2: leading zeros/);
    expect(() => fp32Add({ cuts: ['round'] })).toThrow(/no cut after the last step round/);
  });

  it('pipeline vectors: results the latency later, nothing checked before the first result', () => {
    const v = pipelineVectors([1n, 2n, 3n, 4n].map((r) => ({ inputs: { x: r }, result: r })), 3);
    expect(v.map((x) => x.inputs.x)).toEqual([1n, 2n, 3n, 4n]);
    expect(v.map((x) => x.expect?.result ?? null)).toEqual([null, null, 1n, 2n]);
  });

  const full: ModuleDef[] = [intToFp32({ intWidth: 24, expWidth: 10 }), intToFp32({ intWidth: 48, expWidth: 10 }), intToFp32({ intWidth: 32, expWidth: 8 }), fp32Add(), fp32Add({ adders: 'carry' })];
  for (const def of full) {
    it(`${def.name}: verilator -Wall, iverilog, yosys check -assert without latches`, () => {
      const dir = tmpDir();
      const files = emit(def, dir);
      const lint = verilatorLint(files, def.name, dir);
      expect(lint.output).toBe('');
      expect(lint.ok).toBe(true);
      const iv = icarusCompile(files, def.name, dir);
      expect(iv.output).toBe('');
      expect(iv.ok).toBe(true);
      const ys = yosysSynth(files, def.name, dir);
      expect(ys.ok, ys.output.slice(-3000)).toBe(true);
      expect(ys.latches).toBe(0);
      expect(ys.cells).toBeGreaterThan(0);
    });
  }

  for (const c of [
    { intWidth: 2, expWidth: 2 },
    { intWidth: 53, expWidth: 11 },
  ]) {
    it(`extreme widths i${c.intWidth} e${c.expWidth}: elaborate and lint clean`, () => {
      const def = intToFp32(c);
      const dir = tmpDir();
      const files = emit(def, dir);
      const lint = verilatorLint(files, def.name, dir);
      expect(lint.output).toBe('');
      expect(icarusCompile(files, def.name, dir).ok).toBe(true);
    });
  }
});

/** Runs an already built bench again (the simulators read the .hex files at run time). */
function rerun(dir: string, sim: Simulator): SimResult {
  const r = sim === 'icarus' ? run('vvp', ['-n', 'sim.vvp'], dir) : run(join(dir, 'obj_dir', 'vsim'), [], dir);
  return parseSimOutput(r.output);
}

/** Flips the lowest bit of the first output field of cycle `victim` in expect.hex. */
function corruptExpectation(dir: string, victim: number): void {
  const path = join(dir, 'expect.hex');
  const lines = readFileSync(path, 'utf8').split('\n');
  lines[victim] = (BigInt('0x' + lines[victim]!) ^ 1n).toString(16).padStart(lines[victim]!.length, '0');
  writeFileSync(path, lines.join('\n'));
}

function simulate(def: ModuleDef, vectors: CycleVector[], sim: Simulator, victim: number): void {
  // pipelines clocked by the harness, without reset
  expect(def.clock).not.toBeNull();
  expect(def.reset).toBeNull();
  const dir = tmpDir();
  const { files } = writeCycleBench(def, vectors, dir);
  const r = runBench(dir, files, sim);
  // every vector from the first result on is checked (the ones before it hold no result yet)
  const checked = vectors.filter((v) => v.expect !== null).length;
  expect(checked).toBe(vectors.length - (vectors.findIndex((v) => v.expect !== null)));
  expect(r.mismatches).toEqual([]);
  expect(r.failed).toBe(0);
  expect(r.passed).toBe(checked);
  // a wrong expectation is reported, with its cycle, not hidden
  corruptExpectation(dir, victim);
  const bad = rerun(dir, sim);
  expect(bad.failed).toBe(1);
  expect(bad.passed).toBe(checked - 1);
  expect(bad.mismatches[0]).toMatch(new RegExp(`^MISMATCH cycle ${victim} result`));
}

describe('FP32 units in simulation against the TS model', () => {
  // Verilator builds take several seconds each, so one int-to-fp32 width runs on
  // both simulators and the others on Icarus; the RTL differs only in widths.
  // i48 e10 rounds in the normal and the subnormal range; i24 e10 is exact in the
  // normal range and rounds only below it; i32 e8 uses the 10-bit exponent word
  // (EXPW < 9) and rounds only in the normal range (at scale >= 2^-128 its
  // subnormals are exact); i53 e11 and i2 e2 are the extreme widths.
  const i2f: { c: IntToFp32Config; sims: Simulator[]; seed: number }[] = [
    { c: { intWidth: 48, expWidth: 10 }, sims: ['verilator', 'icarus'], seed: 1 },
    { c: { intWidth: 24, expWidth: 10 }, sims: ['icarus'], seed: 2 },
    { c: { intWidth: 32, expWidth: 8 }, sims: ['icarus'], seed: 3 },
    { c: { intWidth: 53, expWidth: 11 }, sims: ['icarus'], seed: 4 },
    { c: { intWidth: 2, expWidth: 2 }, sims: ['icarus'], seed: 5 },
  ];
  for (const { c, sims, seed } of i2f) {
    const directed = intToFp32DirectedCases(c);
    const vectors = intToFp32Vectors([...directed, ...intToFp32RandomCases(c, 3000, seed)]);
    for (const sim of sims) {
      it(`${intToFp32ModuleName(c)} on ${sim}: ${directed.length} directed + 3000 random cases, one per cycle, match ${INT2FP_LATENCY} cycles later; a corrupted expectation is reported`, () => {
        simulate(intToFp32(c), vectors, sim, 17);
      });
    }
  }

  const directed = fp32AddDirectedCases();
  const addVectors = fp32AddVectors([...directed, ...fp32AddRandomCases(4000, 42)]);
  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`msq_fp32_add on ${sim}: ${directed.length} directed + 4000 random cases, one per cycle, match ${FP32_ADD_LATENCY} cycles later; a corrupted expectation is reported`, () => {
      simulate(fp32Add(), addVectors, sim, 1234);
    });
  }
  // the FPGA adder style: plain + (carry chains) for the significand add and the reverse subtraction, same bits
  it(`msq_fp32_add_carry on icarus: the same ${directed.length} directed + 4000 random cases match`, () => {
    simulate(fp32Add({ adders: 'carry' }), addVectors, 'icarus', 1234);
  });
});
