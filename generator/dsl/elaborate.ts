import type { Genvar, GenvarEnv } from './index.ts';
import { Signal, Slice, WidthError, type BitRef } from './expr.ts';
import type { Memory } from './memory.ts';
import type { WireArray, ArrayElement } from './wire-array.ts';
import type { Item, ModuleDef } from './module.ts';
import { combReads } from './comb.ts';

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
 *   -Wall UNUSED rule), so emitted RTL has no dead logic to lint about; every
 *   memory has its write port (checked when the module is built) and is read.
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

type Env = Map<Genvar, number>;

/**
 * Visits every item with the genvar values of each loop iteration; `enter` sees
 * the local wires of each iteration of each generate body.
 */
function forEachItem(items: readonly Item[], env: Env, f: (i: Item, env: GenvarEnv) => void, enter: (signals: readonly Signal[], env: GenvarEnv) => void): void {
  for (const item of items) {
    if (item.kind === 'generate') {
      for (let v = 0; v < item.genvar.count.value; v++) {
        env.set(item.genvar, v);
        enter(item.signals, env);
        forEachItem(item.items, env, f, enter);
      }
      env.delete(item.genvar);
    } else {
      f(item, env);
    }
  }
}

type Checked = Signal | Memory | WireArray;

/**
 * A signal copy: module-level signals have one, loop-local wires one per
 * iteration, net arrays one per element.
 */
function copyKey(s: Checked, env: GenvarEnv, element?: number[]): string {
  if (element) return `${s.name}${element.map((i) => `[${i}]`).join('')}`;
  if (s.scopeGenvars.length === 0) return s.name;
  return `${s.name}@${s.scopeGenvars.map((g) => `${g.name}=${env.get(g)}`).join(',')}`;
}

interface Copy {
  signal: Checked;
  label: string;
  drivers: string[][];
  read: boolean[];
}

function checkDrivers(m: ModuleDef): void {
  const copies = new Map<string, Copy>();
  const add = (s: Checked, env: GenvarEnv, element?: number[]): void => {
    const key = copyKey(s, env, element);
    const label = element || s.scopeGenvars.length === 0 ? key : key.replace('@', ' in iteration ');
    copies.set(key, { signal: s, label, drivers: Array.from({ length: s.width.value }, () => []), read: new Array<boolean>(s.width.value).fill(false) });
  };
  const empty: GenvarEnv = new Map();
  for (const s of [...m.ports, ...m.signals, ...m.memories]) add(s, empty);
  for (const a of m.wireArrays) for (const e of a.elements()) add(a, empty, e);
  const copyOf = (s: Checked, env: GenvarEnv, element?: number[]): Copy => {
    const c = copies.get(copyKey(s, env, element));
    if (!c) throw new WidthError(`${m.name}: ${s.name} is used outside the generate loop that declares it`);
    return c;
  };

  const drive = (ref: BitRef, env: GenvarEnv, by: string): void => {
    const c = copyOf(ref.signal, env, ref.element);
    for (let b = ref.lsb; b < ref.lsb + ref.width; b++) c.drivers[b]!.push(by);
  };
  const read = (refs: BitRef[], env: GenvarEnv): void => {
    for (const r of refs) {
      const c = copyOf(r.signal, env, r.element);
      for (let b = r.lsb; b < r.lsb + r.width; b++) c.read[b] = true;
    }
  };

  forEachItem(
    m.items,
    new Map(),
    (item, env) => {
      const refs: BitRef[] = [];
      switch (item.kind) {
        case 'assign':
          drive(lvalueBits(item.lhs, env), env, `assign ${item.lhs.render()}`);
          item.rhs.reads(env, refs);
          break;
        case 'reg':
          drive({ signal: item.reg, lsb: 0, width: item.reg.width.value }, env, `register ${item.reg.name}`);
          item.next.reads(env, refs);
          item.enable?.reads(env, refs);
          break;
        case 'instance':
          for (const [portName, e] of item.conns) {
            const port = item.module.ports.find((p) => p.name === portName)!;
            if (port.kind === 'output') drive(lvalueBits(e as Signal | Slice | ArrayElement, env), env, `${item.name}.${portName}`);
            else e.reads(env, refs);
          }
          break;
        case 'memwrite':
          drive({ signal: item.mem, lsb: 0, width: item.mem.width.value }, env, `write port of ${item.mem.name}`);
          item.addr.reads(env, refs);
          item.data.reads(env, refs);
          item.enable?.reads(env, refs);
          break;
        case 'comb':
          for (const d of item.defaults) drive({ signal: d.target, lsb: 0, width: d.target.width.value }, env, `always block setting ${d.target.name}`);
          for (const e of combReads(item)) e.reads(env, refs);
          break;
        case 'generate':
        case 'comment':
          break;
      }
      read(refs, env);
    },
    (signals, env) => {
      for (const s of signals) add(s, env);
    },
  );
  if (m.signals.some((s) => s.kind === 'reg')) {
    if (m.clock) copies.get(m.clock.name)!.read.fill(true);
    if (m.reset) copies.get(m.reset.name)!.read.fill(true);
  }
  // A memory's write port is clocked but not reset (RAMs are not reset).
  if (m.memories.length > 0 && m.clock) copies.get(m.clock.name)!.read.fill(true);

  for (const { signal: s, label, drivers, read: readBits } of copies.values()) {
    const needsDriver = s.kind === 'wire' || s.kind === 'output' || s.kind === 'logic';
    const multi = drivers.findIndex((d) => d.length > 1);
    if (multi >= 0) throw new WidthError(`${m.name}.${label}[${multi}] has multiple drivers: ${drivers[multi]!.join(', ')}`);
    if (s.kind === 'input' && drivers.some((d) => d.length > 0)) throw new WidthError(`${m.name}: input ${s.name} is driven inside the module`);
    if (needsDriver) {
      const undriven = drivers.findIndex((d) => d.length === 0);
      if (undriven >= 0) throw new WidthError(`${m.name}.${label}[${undriven}] has no driver`);
    }
    if (s.kind === 'memory') {
      if (!readBits.every((r) => r)) throw new WidthError(`${m.name}: memory ${s.name} is never read (Verilator -Wall would flag it as UNUSED)`);
    } else if (s.kind !== 'output') {
      const unread = readBits.findIndex((r) => !r);
      if (unread >= 0) throw new WidthError(`${m.name}.${label}[${unread}] is never read (Verilator -Wall would flag it as UNUSED)`);
    }
  }
}

function lvalueBits(lhs: Signal | Slice | ArrayElement, env: GenvarEnv): BitRef {
  const refs: BitRef[] = [];
  lhs.reads(env, refs);
  return refs[0]!;
}
