/**
 * Formal harnesses (docs/VERIFICATION.md): a top module around one block whose
 * inputs are free for the solver, with `assume` for the environment's side of
 * each port, `assert` for the block's side and `cover` to show the proof is
 * not vacuous. A harness sees the block through its ports only; invariants of
 * the block's own state are the block's `ifdef FORMAL` properties
 * (ModuleBuilder.property), proven on the block alone.
 */
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import type { ModuleDef } from '../../generator/dsl/module.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../../common/version.ts';

export interface HarnessSection {
  title: string;
  lines: string[];
}

export interface FormalHarness {
  /** module name of the harness (the proof's top) */
  name: string;
  dut: ModuleDef;
  /** what the harness proves, for its header */
  purpose: string;
  /** port declarations of the harness, `input wire ...` (clk and rst_n first) */
  ports: string[];
  /** wires and registers of the harness (the block's outputs, scoreboards) */
  decls: string[];
  /** the block's instance, `dut` */
  instance: string;
  sections: HarnessSection[];
}

const template = Handlebars.create().compile(readFileSync(new URL('../../templates/testbench/formal_harness.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });

export function renderHarness(h: FormalHarness): string {
  return template({ ...h, dut: h.dut.name, generator: GENERATOR_NAME, version: GENERATOR_VERSION, ports: h.ports.map((p, i) => (i < h.ports.length - 1 ? `${p},` : p)) });
}

/** Harness modules (and their files) are named HARNESS_PREFIX + the block's module name (+ a suffix). */
export const HARNESS_PREFIX = 'msq_formal_';
export const harnessName = (dut: ModuleDef, suffix = '') => `${HARNESS_PREFIX}${dut.name}${suffix}`;

/** The instance of `dut` with every port connected to the harness signal of the same name. */
export function instanceByName(dut: ModuleDef): string {
  return `${dut.name} dut (\n${dut.ports.map((p) => `    .${p.name}(${p.name})`).join(',\n')}\n  );`;
}

/** The harness's inputs (every input of the block, free) and wires (every output). */
export function portsOf(dut: ModuleDef): { ports: string[]; decls: string[] } {
  const range = (w: number) => (w > 1 ? `[${w - 1}:0] ` : '');
  return {
    ports: dut.ports.filter((p) => p.kind === 'input').map((p) => `input wire ${range(p.width.value)}${p.name}`),
    decls: dut.ports.filter((p) => p.kind === 'output').map((p) => `wire ${range(p.width.value)}${p.name};`),
  };
}

/** A guard true from the second cycle on when reset was high at the last edge and is now: `$past` is meaningful. */
export const RUNNING = 'f_past_valid && $past(rst_n) && rst_n';

/**
 * The valid/ready rule for a stream (AXI-Stream's): once valid is high and
 * ready low, valid stays high and the data unchanged at the next edge. An
 * `assume` when the environment drives the stream, an `assert` when the block
 * does; `data` may be several signals.
 */
export function streamRule(kind: 'assume' | 'assert', label: string, valid: string, ready: string, data: string[]): string[] {
  const same = data.map((d) => `${d} == $past(${d})`).join(' && ');
  return [`always @(posedge clk) if (${RUNNING}) ${label}: ${kind} (!$past(${valid} && !${ready}) || (${valid}${same ? ` && ${same}` : ''}));`];
}

/** The block alone, reset in the first cycle and every input free: the top that proves the block's own properties. */
export function aloneHarness(dut: ModuleDef): FormalHarness {
  const io = portsOf(dut);
  return { name: harnessName(dut, '_alone'), dut, purpose: "the block's own properties, every input free", ports: io.ports, decls: io.decls, instance: instanceByName(dut), sections: [] };
}
