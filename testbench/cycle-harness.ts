import Handlebars from 'handlebars';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModuleDef } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { writeRtlFiles } from '../generator/emit.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import { icarusCompile, run, type ToolResult } from './tools.ts';

/** Port values of one cycle, by port name (two's complement for signed ports). */
export type PortValues = Record<string, bigint>;

export interface CycleVector {
  inputs: PortValues;
  /** expected outputs after this cycle's rising edge; null = don't check */
  expect: PortValues | null;
}

export type Simulator = 'verilator' | 'icarus';

export interface SimResult {
  passed: number;
  failed: number;
  /** the simulator's MISMATCH lines */
  mismatches: string[];
  log: string;
}

const tbTemplate = Handlebars.create().compile(
  readFileSync(new URL('../templates/testbench/cycle_tb.v.hbs', import.meta.url), 'utf8'),
  { noEscape: true },
);

function toBits(v: bigint, width: number): bigint {
  const mask = (1n << BigInt(width)) - 1n;
  return v & mask; // two's complement for negatives
}

interface Layout {
  inputs: { name: string; lsb: number; width: number }[];
  outputs: { name: string; lsb: number; width: number }[];
  inWidth: number;
  outWidth: number;
}

function layoutOf(dut: ModuleDef): Layout {
  let lsb = 0;
  const inputs = dut.ports
    .filter((p) => p.kind === 'input' && p !== dut.clock)
    .map((p) => {
      const f = { name: p.name, lsb, width: p.width.value };
      lsb += f.width;
      return f;
    });
  const inWidth = lsb;
  lsb = 0;
  const outputs = dut.ports
    .filter((p) => p.kind === 'output')
    .map((p) => {
      const f = { name: p.name, lsb, width: p.width.value };
      lsb += f.width;
      return f;
    });
  return { inputs, outputs, inWidth, outWidth: lsb };
}

function hexLine(fields: { lsb: number; width: number; value: bigint }[], width: number): string {
  let word = 0n;
  for (const f of fields) word |= toBits(f.value, f.width) << BigInt(f.lsb);
  return word.toString(16).padStart(Math.ceil(width / 4), '0');
}

/**
 * Writes a self-checking testbench for `dut` and its vectors into `dir`:
 * tb.v, stim.hex, expect.hex, the DUT's RTL and filelist.f.
 */
export function writeCycleBench(dut: ModuleDef, vectors: CycleVector[], dir: string): { files: string[] } {
  mkdirSync(dir, { recursive: true });
  const lay = layoutOf(dut);
  const rtl = writeRtlFiles(dir, elaborate(dut));

  const stim: string[] = [];
  const expect: string[] = [];
  for (const [i, v] of vectors.entries()) {
    for (const f of lay.inputs) {
      if (v.inputs[f.name] === undefined) throw new Error(`vector ${i}: no value for input ${f.name}`);
    }
    stim.push(hexLine(lay.inputs.map((f) => ({ ...f, value: v.inputs[f.name]! })), lay.inWidth));
    const fields = lay.outputs.map((f) => {
      const val = v.expect?.[f.name];
      if (v.expect && val === undefined) throw new Error(`vector ${i}: no expected value for output ${f.name}`);
      return { ...f, value: val ?? 0n };
    });
    fields.push({ name: 'check', lsb: lay.outWidth, width: 1, value: v.expect ? 1n : 0n });
    expect.push(hexLine(fields, lay.outWidth + 1));
  }
  writeFileSync(join(dir, 'stim.hex'), stim.join('\n') + '\n');
  writeFileSync(join(dir, 'expect.hex'), expect.join('\n') + '\n');

  const conns = dut.ports.map((p) => {
    if (p === dut.clock) return { port: p.name, expr: 'clk' };
    const list = p.kind === 'input' ? lay.inputs : lay.outputs;
    const f = list.find((x) => x.name === p.name)!;
    const vec = p.kind === 'input' ? 'in_vec' : 'out_vec';
    return { port: p.name, expr: f.width === 1 ? `${vec}[${f.lsb}]` : `${vec}[${f.lsb + f.width - 1}:${f.lsb}]` };
  });
  const tb = tbTemplate({
    dut: dut.name,
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    cycles: vectors.length,
    inWidth: lay.inWidth,
    outWidth: lay.outWidth,
    conns,
    outputs: lay.outputs.map((f) => ({ name: f.name, lsb: f.lsb, msb: f.lsb + f.width - 1 })),
    maxReports: 10,
  });
  writeFileSync(join(dir, 'tb.v'), tb);
  const files = [...rtl, 'tb.v'];
  writeFileSync(join(dir, 'filelist.f'), files.join('\n') + '\n');
  return { files };
}

/** Parses the testbench's closing line and mismatch reports. */
export function parseSimOutput(log: string): SimResult {
  const m = /^(\d+) passed, (\d+) failed$/m.exec(log);
  const mismatches = log.split('\n').filter((l) => l.startsWith('MISMATCH'));
  if (!m) return { passed: 0, failed: Math.max(1, mismatches.length), mismatches, log };
  return { passed: Number(m[1]), failed: Number(m[2]), mismatches, log };
}

/** Builds and runs the bench in `dir` on one simulator. A build failure counts as a failure. */
export function runBench(dir: string, files: string[], sim: Simulator, top = 'tb'): SimResult {
  const cwd = resolve(dir);
  let build: ToolResult;
  let exec: ToolResult;
  if (sim === 'icarus') {
    build = icarusCompile(files, top, cwd, 'sim.vvp');
    if (!build.ok) return { passed: 0, failed: 1, mismatches: [], log: build.output };
    exec = run('vvp', ['-n', 'sim.vvp'], cwd);
  } else {
    build = run(
      'verilator',
      ['--binary', '--timing', '-Wno-fatal', '-Wno-lint', '-Wno-style', '--top-module', top, '-Mdir', 'obj_dir', '-o', 'vsim', ...files],
      cwd,
    );
    if (!build.ok) return { passed: 0, failed: 1, mismatches: [], log: build.output };
    exec = run(join(cwd, 'obj_dir', 'vsim'), [], cwd);
  }
  const r = parseSimOutput(exec.output);
  if (!exec.ok) return { ...r, failed: Math.max(1, r.failed), log: build.output + exec.output };
  return r;
}
