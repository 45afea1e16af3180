import { Dim } from './dim.ts';
import { Genvar, Idx } from './index.ts';
import { Expr, Signal, Slice, WidthError, describe, type SignalKind } from './expr.ts';

/** What an assignment or an instance output may drive: a whole signal or a part-select of one. */
export type LValue = Signal | Slice;

export interface Assign {
  kind: 'assign';
  lhs: LValue;
  rhs: Expr;
}

/** A flip-flop update: on the clock edge, reset to `reset` when rst_n is low, else load `next` when `enable`. */
export interface RegUpdate {
  kind: 'reg';
  reg: Signal;
  next: Expr;
  enable: Expr | null;
  reset: bigint;
}

export interface Instance {
  kind: 'instance';
  name: string;
  module: ModuleDef;
  conns: ReadonlyMap<string, Expr>;
}

/** A named generate loop: `for (genvar = 0; genvar < count; ...) begin : label`. */
export interface GenerateFor {
  kind: 'generate';
  label: string;
  genvar: Genvar;
  items: Item[];
}

export type Item = Assign | RegUpdate | Instance | GenerateFor;

export interface Param {
  name: string;
  value: number;
  doc: string;
}

/** A fully elaborated module: the result of running a block's builder for one configuration. */
export interface ModuleDef {
  readonly name: string;
  readonly doc: string;
  readonly params: readonly Param[];
  readonly ports: readonly Signal[];
  readonly signals: readonly Signal[]; // wires and regs, declaration order
  readonly items: readonly Item[];
  readonly clock: Signal | null;
  readonly reset: Signal | null;
  /** The block's configuration, written into each file's header. */
  readonly config: Readonly<Record<string, unknown>>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(
  'always and assign begin buf case casex casez default defparam disable edge else end endcase endfunction endgenerate endmodule endtask for forever function generate genvar if initial inout input integer localparam logic module negedge nor not or output parameter posedge reg repeat signed supply0 supply1 task time tri wait while wire xor'.split(' '),
);

function checkIdent(what: string, name: string): void {
  if (!IDENT.test(name) || RESERVED.has(name)) throw new WidthError(`${what} '${name}' is not a legal Verilog identifier`);
}

/** Items of one scope: the module body or a generate loop body. */
export class ScopeBuilder {
  protected readonly items: Item[] = [];
  protected readonly mod: ModuleBuilder;

  /** A loop body belongs to `owner`; the module body (no owner) is its own. */
  constructor(owner?: ModuleBuilder) {
    this.mod = owner ?? (this as unknown as ModuleBuilder);
  }

  /** Continuous assignment; widths must match exactly. */
  assign(lhs: LValue, rhs: Expr): void {
    const target = lhs instanceof Slice ? lhs.signal : lhs;
    if (target.kind === 'input' || target.kind === 'reg') {
      throw new WidthError(`${this.mod.name}: cannot assign to ${target.kind} ${target.name}`);
    }
    if (lhs.width.value !== rhs.width.value) {
      throw new WidthError(`${this.mod.name}: assignment width mismatch: ${describe(lhs)} = ${describe(rhs)}`);
    }
    this.items.push({ kind: 'assign', lhs, rhs });
  }

  /**
   * Instance of another module. Every port must be connected: inputs to any
   * expression of the port's width, outputs to a signal or part-select.
   */
  instance(name: string, module: ModuleDef, conns: Record<string, Expr>): void {
    checkIdent('instance name', name);
    const here = `${this.mod.name}.${name}`;
    const map = new Map<string, Expr>();
    for (const [portName, e] of Object.entries(conns)) {
      const port = module.ports.find((p) => p.name === portName);
      if (!port) {
        throw new WidthError(`${here}: module ${module.name} has no port '${portName}' (ports: ${module.ports.map((p) => p.name).join(', ')})`);
      }
      if (port.width.value !== e.width.value) {
        throw new WidthError(
          `${here}: port ${module.name}.${port.name} is ${port.width.value} bits but is connected to ${describe(e)}`,
        );
      }
      if (port.kind === 'output' && !(e instanceof Signal || e instanceof Slice)) {
        throw new WidthError(`${here}: output port ${module.name}.${port.name} must drive a signal or part-select, not ${e.render()}`);
      }
      if (port.kind === 'output') {
        const target = e instanceof Slice ? e.signal : (e as Signal);
        if (target.kind === 'input' || target.kind === 'reg') {
          throw new WidthError(`${here}: output port ${module.name}.${port.name} cannot drive ${target.kind} ${target.name}`);
        }
      }
      map.set(portName, e);
    }
    const missing = module.ports.filter((p) => !map.has(p.name)).map((p) => p.name);
    if (missing.length > 0) throw new WidthError(`${here}: ports of ${module.name} left unconnected: ${missing.join(', ')}`);
    this.mod.noteInstanceName(name);
    this.items.push({ kind: 'instance', name, module, conns: map });
  }

  /** A named generate loop; `body` receives the genvar and a scope for the loop body. */
  generate(label: string, genvarName: string, count: Dim | number, body: (g: Genvar, scope: ScopeBuilder) => void): void {
    checkIdent('generate label', label);
    checkIdent('genvar', genvarName);
    const n = Dim.from(count);
    if (n.value < 1) throw new WidthError(`${this.mod.name}.${label}: loop count ${n.text} = ${n.value} must be at least 1`);
    const g = new Genvar(genvarName, n);
    const scope = new ScopeBuilder(this.mod);
    body(g, scope);
    this.items.push({ kind: 'generate', label, genvar: g, items: scope.items });
  }

  /** @internal */
  takeItems(): Item[] {
    return this.items;
  }
}

/**
 * Builds one module. A block is a TypeScript function that takes its
 * configuration and calls `defineModule`; running it is elaboration.
 */
export class ModuleBuilder extends ScopeBuilder {
  private readonly params: Param[] = [];
  private readonly ports: Signal[] = [];
  private readonly signals: Signal[] = [];
  private readonly names = new Set<string>();
  private clk: Signal | null = null;
  private rst: Signal | null = null;

  constructor(readonly name: string) {
    super();
    checkIdent('module name', name);
  }

  private claim(name: string): void {
    checkIdent('signal name', name);
    if (this.names.has(name)) throw new WidthError(`${this.name}: '${name}' is declared twice`);
    this.names.add(name);
  }

  /** @internal */
  noteInstanceName(name: string): void {
    this.claim(name);
  }

  /** A module parameter; widths built from it render in terms of its name. */
  param(name: string, value: number, doc: string): Dim {
    this.claim(name);
    this.params.push({ name, value, doc });
    return Dim.param(name, value);
  }

  input(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    return this.port('input', name, width, opts);
  }

  output(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    return this.port('output', name, width, opts);
  }

  private port(kind: SignalKind, name: string, width: Dim | number, opts: { signed?: boolean; doc?: string }): Signal {
    this.claim(name);
    const s = new Signal(this.name, name, kind, Dim.from(width), opts.signed ?? false, opts.doc);
    this.ports.push(s);
    return s;
  }

  /** The module's clock input (`clk`), shared by all its registers. */
  clock(name = 'clk'): Signal {
    if (this.clk) throw new WidthError(`${this.name}: clock declared twice`);
    this.clk = this.input(name, 1, { doc: 'clock, rising edge' });
    return this.clk;
  }

  /** The module's synchronous active-low reset input (`rst_n`). */
  resetN(name = 'rst_n'): Signal {
    if (this.rst) throw new WidthError(`${this.name}: reset declared twice`);
    this.rst = this.input(name, 1, { doc: 'synchronous reset, active low' });
    return this.rst;
  }

  wire(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    this.claim(name);
    const s = new Signal(this.name, name, 'wire', Dim.from(width), opts.signed ?? false, opts.doc);
    this.signals.push(s);
    return s;
  }

  /** A wire driven by `e`, declared with e's width and signedness. */
  let(name: string, e: Expr, doc?: string): Signal {
    const w = this.wire(name, e.width, { signed: e.signed, doc });
    this.assign(w, e);
    return w;
  }

  /** A register clocked by the module clock with synchronous active-low reset. Give its update with `update`. */
  reg(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    if (!this.clk || !this.rst) throw new WidthError(`${this.name}: declare clock() and resetN() before register ${name}`);
    this.claim(name);
    const s = new Signal(this.name, name, 'reg', Dim.from(width), opts.signed ?? false, opts.doc);
    this.signals.push(s);
    return s;
  }

  /** Next-state of a register: `next` is loaded when `enable` (1 bit) is high; reset value defaults to 0. */
  update(reg: Signal, next: Expr, opts: { enable?: Expr; reset?: number | bigint } = {}): void {
    if (reg.kind !== 'reg') throw new WidthError(`${this.name}: ${reg.name} is a ${reg.kind}, not a register`);
    if (this.items.some((i) => i.kind === 'reg' && i.reg === reg)) throw new WidthError(`${this.name}: register ${reg.name} updated twice`);
    if (next.width.value !== reg.width.value) {
      throw new WidthError(`${this.name}: register update width mismatch: ${describe(reg)} <= ${describe(next)}`);
    }
    if (opts.enable && opts.enable.width.value !== 1) throw new WidthError(`${this.name}: enable of ${reg.name} must be 1 bit, got ${describe(opts.enable)}`);
    this.items.push({ kind: 'reg', reg, next, enable: opts.enable ?? null, reset: BigInt(opts.reset ?? 0) });
  }

  /** @internal */
  finish(doc: string, config: Record<string, unknown>): ModuleDef {
    for (const s of this.signals) {
      if (s.kind === 'reg' && !this.items.some((i) => i.kind === 'reg' && i.reg === s)) {
        throw new WidthError(`${this.name}: register ${s.name} has no update`);
      }
    }
    return Object.freeze({
      name: this.name,
      doc,
      params: [...this.params],
      ports: [...this.ports],
      signals: [...this.signals],
      items: this.takeItems(),
      clock: this.clk,
      reset: this.rst,
      config: Object.freeze({ ...config }),
    });
  }
}

/**
 * Elaborates one module: runs `body` against a fresh builder and returns the
 * frozen definition. `config` is the block configuration shown in the header.
 */
export function defineModule(
  name: string,
  doc: string,
  config: Record<string, unknown>,
  body: (m: ModuleBuilder) => void,
): ModuleDef {
  const m = new ModuleBuilder(name);
  body(m);
  return m.finish(doc, config);
}

export { Idx };
