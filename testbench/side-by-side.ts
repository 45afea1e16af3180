import { defineModule, type ModuleDef } from '../generator/dsl/module.ts';
import type { Expr } from '../generator/dsl/expr.ts';
import type { CycleVector } from './cycle-harness.ts';

/**
 * A bench-only wrapper that instantiates several independent units on one
 * clock, every other port brought out as `u{k}_{port}`. One simulator build
 * then checks several configurations (Verilator builds dominate test time).
 */
export function sideBySide(name: string, units: ModuleDef[]): ModuleDef {
  return defineModule(name, `${units.length} independent units on one clock (test wrapper)`, { block: 'side_by_side', units: units.map((u) => u.name) }, (m) => {
    const clk = m.clock();
    units.forEach((u, k) => {
      const conns: Record<string, Expr> = {};
      for (const port of u.ports) {
        if (port === u.clock) {
          conns[port.name] = clk;
          continue;
        }
        const ext = `u${k}_${port.name}`;
        const opts = { signed: port.signed, doc: `${u.name}.${port.name}` };
        conns[port.name] = port.kind === 'input' ? m.input(ext, port.width.value, opts) : m.output(ext, port.width.value, opts);
      }
      m.instance(`u${k}`, u, conns);
    });
  });
}

/** Cycle vectors of the units (equal lengths), merged for the wrapper's ports. */
export function mergeVectors(lists: CycleVector[][]): CycleVector[] {
  const n = lists[0]?.length ?? 0;
  if (lists.some((l) => l.length !== n)) throw new Error(`vector lists differ in length: ${lists.map((l) => l.length).join(', ')}`);
  return Array.from({ length: n }, (_, c) => {
    const inputs: Record<string, bigint> = {};
    const expect: Record<string, bigint> = {};
    let check = false;
    lists.forEach((l, k) => {
      const v = l[c]!;
      for (const [p, x] of Object.entries(v.inputs)) inputs[`u${k}_${p}`] = x;
      if (v.expect) {
        check = true;
        for (const [p, x] of Object.entries(v.expect)) expect[`u${k}_${p}`] = x;
      }
    });
    if (check && lists.some((l) => l[c]!.expect === null)) throw new Error(`cycle ${c}: some units are checked and some are not`);
    return { inputs, expect: check ? expect : null };
  });
}
