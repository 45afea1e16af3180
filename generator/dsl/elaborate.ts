import type { GenvarEnv } from './index.ts';
import { Signal, Slice, WidthError, type BitRef } from './expr.ts';
import type { Item, ModuleDef } from './module.ts';

/** The elaborated design: every distinct module once, children before parents. */
export interface Design {
  top: ModuleDef;
  modules: ModuleDef[];
}

/**
 * Elaboration's checking pass over a module hierarchy.
 * - Every distinct module definition is kept once (by name); two different
 *   definitions under one name are an error.
 * - Every bit of every wire and output port has exactly one driver.
 * - Every bit of every input, wire and register is read somewhere (Verilator's
 *   -Wall UNUSED rule), so emitted RTL has no dead logic to lint about.
 */
export function elaborate(top: ModuleDef): Design {
  const order: ModuleDef[] = [];
  const seen = new Map<string, ModuleDef>();
  const visit = (m: ModuleDef, path: string[]): void => {
    const prev = seen.get(m.name);
    if (prev) {
      if (prev !== m && !sameDefinition(prev, m)) {
        throw new WidthError(`two different definitions share the module name ${m.name}; give each parameterization its own name`);
      }
      return;
    }
    if (path.includes(m.name)) throw new WidthError(`module ${m.name} instantiates itself (${[...path, m.name].join(' -> ')})`);
    for (const child of childModules(m.items)) visit(child, [...path, m.name]);
    seen.set(m.name, m);
    checkDrivers(m);
    order.push(m);
  };
  visit(top, []);
  return { top, modules: order };
}

function childModules(items: readonly Item[]): ModuleDef[] {
  return items.flatMap((i) => (i.kind === 'instance' ? [i.module] : i.kind === 'generate' ? childModules(i.items) : []));
}

function sameDefinition(a: ModuleDef, b: ModuleDef): boolean {
  return JSON.stringify(a.config) === JSON.stringify(b.config) && JSON.stringify(a.params) === JSON.stringify(b.params);
}

/** Visits every item with the genvar values of each loop iteration. */
function forEachItem(items: readonly Item[], env: Map<import('./index.ts').Genvar, number>, f: (i: Item, env: GenvarEnv) => void): void {
  for (const item of items) {
    if (item.kind === 'generate') {
      for (let v = 0; v < item.genvar.count.value; v++) {
        env.set(item.genvar, v);
        forEachItem(item.items, env, f);
      }
      env.delete(item.genvar);
    } else {
      f(item, env);
    }
  }
}

function lvalueBits(lhs: Signal | Slice, env: GenvarEnv): BitRef {
  const refs: BitRef[] = [];
  lhs.reads(env, refs);
  return refs[0]!;
}

function checkDrivers(m: ModuleDef): void {
  const all = [...m.ports, ...m.signals];
  const drivers = new Map<Signal, string[][]>(all.map((s) => [s, Array.from({ length: s.width.value }, () => [] as string[])]));
  const readBits = new Map<Signal, boolean[]>(all.map((s) => [s, new Array<boolean>(s.width.value).fill(false)]));

  const drive = (ref: BitRef, by: string): void => {
    const bits = drivers.get(ref.signal)!;
    for (let b = ref.lsb; b < ref.lsb + ref.width; b++) bits[b]!.push(by);
  };
  const read = (refs: BitRef[]): void => {
    for (const r of refs) {
      const bits = readBits.get(r.signal)!;
      for (let b = r.lsb; b < r.lsb + r.width; b++) bits[b] = true;
    }
  };

  forEachItem(m.items, new Map(), (item, env) => {
    const refs: BitRef[] = [];
    switch (item.kind) {
      case 'assign':
        drive(lvalueBits(item.lhs, env), `assign ${item.lhs.render()}`);
        item.rhs.reads(env, refs);
        break;
      case 'reg':
        drive({ signal: item.reg, lsb: 0, width: item.reg.width.value }, `register ${item.reg.name}`);
        item.next.reads(env, refs);
        item.enable?.reads(env, refs);
        break;
      case 'instance':
        for (const [portName, e] of item.conns) {
          const port = item.module.ports.find((p) => p.name === portName)!;
          if (port.kind === 'output') drive(lvalueBits(e as Signal | Slice, env), `${item.name}.${portName}`);
          else e.reads(env, refs);
        }
        break;
      case 'generate':
        break;
    }
    read(refs);
  });
  if (m.signals.some((s) => s.kind === 'reg')) {
    if (m.clock) readBits.get(m.clock)!.fill(true);
    if (m.reset) readBits.get(m.reset)!.fill(true);
  }

  for (const s of all) {
    const bits = drivers.get(s)!;
    const needsDriver = s.kind === 'wire' || s.kind === 'output';
    const multi = bits.findIndex((d) => d.length > 1);
    if (multi >= 0) throw new WidthError(`${m.name}.${s.name}[${multi}] has multiple drivers: ${bits[multi]!.join(', ')}`);
    if (s.kind === 'input' && bits.some((d) => d.length > 0)) throw new WidthError(`${m.name}: input ${s.name} is driven inside the module`);
    if (needsDriver) {
      const undriven = bits.findIndex((d) => d.length === 0);
      if (undriven >= 0) throw new WidthError(`${m.name}.${s.name}[${undriven}] has no driver`);
    }
    if (s.kind !== 'output') {
      const unread = readBits.get(s)!.findIndex((r) => !r);
      if (unread >= 0) throw new WidthError(`${m.name}.${s.name}[${unread}] is never read (Verilator -Wall would flag it as UNUSED)`);
    }
  }
}
