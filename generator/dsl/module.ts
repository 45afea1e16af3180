import { Dim } from './dim.ts';
import { Genvar, Idx } from './index.ts';
import { Expr, NamedConst, Signal, Slice, WidthError, describe, type SignalKind } from './expr.ts';
import { Memory, type MemWrite } from './memory.ts';
import { ArrayElement, WireArray } from './wire-array.ts';
import { CombBuilder, type CombBlock, type Flop } from './comb.ts';
import { Fsm } from './fsm.ts';
import { Struct, type Layout } from './struct.ts';

/** What an assignment or an instance output may drive: a whole signal, a part-select of one, or a net-array element. */
export type LValue = Signal | Slice | ArrayElement;

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
  /** a named constant rendered as the reset value (an FSM's reset state) */
  resetName?: string;
  /** a flop (`q <= d`): consecutive flops share one always block in the RTL */
  flop?: boolean;
}

export interface Instance {
  kind: 'instance';
  name: string;
  module: ModuleDef;
  conns: ReadonlyMap<string, Expr>;
  /** parameter bindings shown at the instance (values equal the child's own) */
  params: ReadonlyMap<string, Dim>;
}

/** A named generate loop: `for (genvar = 0; genvar < count; ...) begin : label`. */
export interface GenerateFor {
  kind: 'generate';
  label: string;
  genvar: Genvar;
  /** wires declared inside the loop body: one copy per iteration */
  signals: Signal[];
  items: Item[];
}

/** A comment line (or lines) in the emitted body: why the next items are there. */
export interface Comment {
  kind: 'comment';
  text: string;
}

export type Item = Assign | RegUpdate | Instance | GenerateFor | MemWrite | Comment | CombBlock;

/**
 * A formal property of the block (docs/VERIFICATION.md): an immediate
 * `assert`, `assume` or `cover` of a 1-bit expression of the block's signals,
 * checked at every clock edge out of reset. The RTL carries them in an
 * `ifdef FORMAL` block, which simulation and synthesis skip; `msq formal`
 * reads them with Yosys's -formal and proves them with an SMT solver.
 */
export interface Property {
  kind: 'assert' | 'assume' | 'cover';
  /** a Verilog identifier, unique in the module: the name in the proof's report */
  label: string;
  expr: Expr;
  doc: string;
}
export const PROPERTY_KINDS = ['assert', 'assume', 'cover'] as const;
export type { MemWrite, CombBlock, Flop };

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
  /**
   * derived constants: `localparam integer NAME = expression;` in the body, or
   * with `width`, a sized constant `localparam [W-1:0] NAME = W'dV;` (FSM states)
   */
  readonly localparams: readonly LocalParam[];
  readonly ports: readonly Signal[];
  readonly signals: readonly Signal[]; // module-level wires, then registers
  /** RAMs (`reg [W-1:0] name [0:DEPTH-1]`), each with one write port among the items */
  readonly memories: readonly Memory[];
  /** net arrays (`wire [W-1:0] name [0:D0-1]...`), one net per element */
  readonly wireArrays: readonly WireArray[];
  readonly items: readonly Item[];
  /** formal properties (rendered inside `ifdef FORMAL`) */
  readonly properties: readonly Property[];
  readonly clock: Signal | null;
  readonly reset: Signal | null;
  /** no reset by design (ModuleBuilder.noReset): why; null when the module has a reset or no registers */
  readonly resetless: string | null;
  /** The block's configuration, written into each file's header. */
  readonly config: Readonly<Record<string, unknown>>;
}

export interface LocalParam extends Param {
  text: string;
  /** bits of a sized constant (NamedConst); absent for an integer localparam */
  width?: number;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Verilog-2005 and SystemVerilog-2012 keywords: all three tools reject them as names.
const RESERVED = new Set(
  (
    'accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign default defparam design disable dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask enum event eventually expect export extends extern final first_match for force foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir include initial inout input inside instance int integer interconnect interface intersect join join_any join_none large let liblist library local localparam logic longint macromodule matches medium modport module nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint shortreal showcancelled signed small soft solve specify specparam static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor'
  ).split(' '),
);

function checkIdent(what: string, name: string): void {
  if (!IDENT.test(name) || RESERVED.has(name)) throw new WidthError(`${what} '${name}' is not a legal Verilog identifier`);
}

/** Items of one scope: the module body or a generate loop body. */
export class ScopeBuilder {
  protected readonly items: Item[] = [];
  protected readonly localSignals: Signal[] = [];
  protected readonly mod: ModuleBuilder;

  /** A loop body belongs to `owner` inside loops over `genvars`; the module body (no owner) is its own. */
  constructor(
    owner?: ModuleBuilder,
    protected readonly genvars: readonly Genvar[] = [],
  ) {
    this.mod = owner ?? (this as unknown as ModuleBuilder);
  }

  /** A wire of this scope: inside a generate loop, each iteration has its own. */
  wire(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    this.mod.noteName(name);
    const s = new Signal(this.mod.name, name, 'wire', Dim.from(width), opts.signed ?? false, opts.doc, this.genvars);
    this.localSignals.push(s);
    return s;
  }

  /**
   * A combinational variable: declared `reg`, driven by one combinational
   * block of this scope (`comb`), where it must get a default.
   */
  logic(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    this.mod.noteName(name);
    const s = new Signal(this.mod.name, name, 'logic', Dim.from(width), opts.signed ?? false, opts.doc, this.genvars);
    this.localSignals.push(s);
    return s;
  }

  /**
   * A combinational block, `always @(*)`: every target first gets its default
   * (`b.default`, `b.hold`), then `b.when(...).elsewhen(...).otherwise(...)`,
   * `b.caseOf`, `b.transitions` and `b.set` give the other values. No target
   * can miss a value on any path, so the block never infers a latch.
   */
  comb(body: (b: CombBuilder) => void): void {
    const b = new CombBuilder(this.mod.name);
    body(b);
    this.items.push(b.finish());
  }

  /** A comment in the emitted RTL before the items that follow (one `//` line per line of text). */
  comment(text: string): void {
    this.items.push({ kind: 'comment', text });
  }

  /** A wire driven by `e`, declared with e's width and signedness. */
  let(name: string, e: Expr, doc?: string): Signal {
    const w = this.wire(name, e.width, { signed: e.signed, doc });
    this.assign(w, e);
    return w;
  }

  /** Continuous assignment; widths must match exactly. */
  assign(lhs: LValue, rhs: Expr): void {
    const target = lhs instanceof Slice ? lhs.signal : lhs instanceof ArrayElement ? lhs.array : lhs;
    if (target.kind === 'input' || target.kind === 'reg' || target.kind === 'logic') {
      throw new WidthError(`${this.mod.name}: cannot assign to ${target.kind} ${target.name}${target.kind === 'logic' ? ' (a combinational block drives it)' : ''}`);
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
  instance(name: string, module: ModuleDef, conns: Record<string, Expr>, params: Record<string, Dim> = {}): void {
    checkIdent('instance name', name);
    const here = `${this.mod.name}.${name}`;
    const paramMap = new Map<string, Dim>();
    for (const [pn, d] of Object.entries(params)) {
      const cp = module.params.find((p) => p.name === pn);
      if (!cp) throw new WidthError(`${here}: module ${module.name} has no parameter ${pn}`);
      if (cp.value !== d.value) {
        throw new WidthError(`${here}: parameter ${module.name}.${pn} is ${cp.value} but is bound to ${d.text} = ${d.value}`);
      }
      paramMap.set(pn, d);
    }
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
      if (port.kind === 'output' && !(e instanceof Signal || e instanceof Slice || e instanceof ArrayElement)) {
        throw new WidthError(`${here}: output port ${module.name}.${port.name} must drive a signal, part-select or array element, not ${e.render()}`);
      }
      if (port.kind === 'output') {
        const target = e instanceof Slice ? e.signal : e instanceof ArrayElement ? e.array : (e as Signal);
        if (target.kind === 'input' || target.kind === 'reg' || target.kind === 'logic') {
          throw new WidthError(`${here}: output port ${module.name}.${port.name} cannot drive ${target.kind} ${target.name}`);
        }
      }
      map.set(portName, e);
    }
    const missing = module.ports.filter((p) => !map.has(p.name)).map((p) => p.name);
    if (missing.length > 0) throw new WidthError(`${here}: ports of ${module.name} left unconnected: ${missing.join(', ')}`);
    this.mod.noteInstanceName(name);
    this.items.push({ kind: 'instance', name, module, conns: map, params: paramMap });
  }

  /** A named generate loop; `body` receives the genvar and a scope for the loop body. */
  generate(label: string, genvarName: string, count: Dim | number, body: (g: Genvar, scope: ScopeBuilder) => void): void {
    checkIdent('generate label', label);
    checkIdent('genvar', genvarName);
    const n = Dim.from(count);
    if (n.value < 1) throw new WidthError(`${this.mod.name}.${label}: loop count ${n.text} = ${n.value} must be at least 1`);
    const g = new Genvar(genvarName, n);
    const scope = new ScopeBuilder(this.mod, [...this.genvars, g]);
    body(g, scope);
    this.items.push({ kind: 'generate', label, genvar: g, signals: scope.localSignals, items: scope.items });
  }

  /** @internal */
  takeItems(): Item[] {
    return this.items;
  }

  /** @internal */
  takeSignals(): Signal[] {
    return this.localSignals;
  }
}

/**
 * Builds one module. A block is a TypeScript function that takes its
 * configuration and calls `defineModule`; running it is elaboration.
 */
export class ModuleBuilder extends ScopeBuilder {
  private readonly params: Param[] = [];
  private readonly locals: LocalParam[] = [];
  private readonly fsms: Fsm<string>[] = [];
  private readonly ports: Signal[] = [];
  private readonly regs: Signal[] = [];
  private readonly mems: Memory[] = [];
  private readonly arrays: WireArray[] = [];
  private readonly props: Property[] = [];
  private readonly names = new Set<string>();
  private clk: Signal | null = null;
  private rst: Signal | null = null;
  /** set by noReset(): why the module has no reset */
  private resetless: string | null = null;

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

  /** @internal */
  noteName(name: string): void {
    this.claim(name);
  }

  /** A module parameter; widths built from it render in terms of its name. */
  param(name: string, value: number, doc: string): Dim {
    this.claim(name);
    this.params.push({ name, value, doc });
    return Dim.param(name, value);
  }

  /** A derived constant (`localparam`), e.g. `TPG_LAST = TPG - 1`, usable in the body only. */
  localparam(name: string, value: Dim, doc: string): Dim {
    this.claim(name);
    this.locals.push({ name, value: value.value, text: value.text, doc });
    return Dim.param(name, value.value);
  }

  /** A sized named constant, `localparam [W-1:0] NAME = W'dV;`: an expression of `width` bits that renders as NAME. */
  constant(name: string, value: number | bigint, width: Dim | number, doc: string): NamedConst {
    this.claim(name);
    const w = Dim.from(width);
    const c = new NamedConst(name, BigInt(value), w);
    this.locals.push({ name, value: Number(value), text: `${w.value}'d${value}`, width: w.value, doc });
    return c;
  }

  /**
   * A packed layout bound to this module: field offsets (and literal widths)
   * get localparams `<PREFIX>_<FIELD>_LSB` / `_W` when first used. `width`:
   * the parameter naming the layout's width (the stride of an array of values);
   * `nameWidths: false` keeps literal field widths as numbers.
   */
  struct<F extends string>(prefix: string, layout: Layout<F>, opts: { width?: Dim; nameWidths?: boolean } = {}): Struct<F> {
    return new Struct(this, prefix, layout, opts.width ?? layout.width, opts.nameWidths ?? true);
  }

  /**
   * A register with a next-state signal (OpenTitan style): `<name>_q` is
   * loaded from `<name>_d` on every clock edge (reset to `reset`); a
   * combinational block sets `<name>_d`, usually holding `_q` by default.
   */
  flop(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string; reset?: number | bigint } = {}): Flop {
    if (!this.rst) throw new WidthError(`${this.name}: flop ${name} needs the module's reset (resetN())`);
    const q = this.reg(`${name}_q`, width, { signed: opts.signed, doc: opts.doc });
    const d = this.logic(`${name}_d`, width, { signed: opts.signed, doc: `next value of ${name}_q` });
    this.update(q, d, { reset: opts.reset });
    const item = this.items.at(-1) as RegUpdate;
    item.flop = true;
    return { q, d };
  }

  /**
   * A state machine: one localparam per state (codes 0, 1, ... in the order
   * of `states`, which maps each name to what the state does), the register
   * `<name>_q` (reset to `reset`) and the next state `<name>_d`, given by
   * `fsm.next({...})` or `b.transitions(fsm, {...})` inside a block.
   */
  fsm<S extends string>(name: string, states: Record<S, string>, opts: { reset: NoInfer<S>; doc?: string }): Fsm<S> {
    const names = Object.keys(states) as S[];
    if (names.length < 2) throw new WidthError(`${this.name}: state machine ${name} needs at least two states`);
    if (!names.includes(opts.reset)) throw new WidthError(`${this.name}: reset state ${opts.reset} of ${name} is not one of its states`);
    const bits = Math.max(1, Math.ceil(Math.log2(names.length)));
    const codes = new Map(names.map((s, k) => [s, this.constant(s, k, bits, `${name}: ${states[s]}`)] as const));
    const q = this.reg(`${name}_q`, bits, { doc: opts.doc ?? `state register of ${name}` });
    const d = this.logic(`${name}_d`, bits, { doc: `next value of ${name}_q` });
    this.items.push({ kind: 'reg', reg: q, next: d, enable: null, reset: BigInt(names.indexOf(opts.reset)), resetName: opts.reset, flop: true });
    const fsm = new Fsm<S>(name, names, codes, opts.reset, q, d, (body) => this.comb(body));
    this.fsms.push(fsm as unknown as Fsm<string>);
    return fsm;
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
    if (this.resetless !== null) throw new WidthError(`${this.name}: a module without reset cannot declare one`);
    this.rst = this.input(name, 1, { doc: 'synchronous reset, active low' });
    return this.rst;
  }

  /**
   * Declares that the module has no reset: its registers load on every enabled
   * clock edge and are never cleared (a pipeline whose user keeps the valid bits).
   * `why` is the module's comment on it, emitted where this is called. A module
   * declares either this or resetN().
   */
  noReset(why: string): void {
    if (this.rst) throw new WidthError(`${this.name}: a module with a reset cannot also have none`);
    this.resetless = why;
    this.comment(why);
  }

  /** A register clocked by the module clock with synchronous active-low reset (none after noReset()). Give its update with `update`. */
  reg(name: string, width: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Signal {
    if (!this.clk || (!this.rst && this.resetless === null)) throw new WidthError(`${this.name}: declare clock() and resetN() (or noReset()) before register ${name}`);
    this.claim(name);
    const s = new Signal(this.name, name, 'reg', Dim.from(width), opts.signed ?? false, opts.doc);
    this.regs.push(s);
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

  /**
   * A RAM of `depth` words (a power of two, at least 2) of `width` bits, at
   * module level: `mem.write(addr, data, enable)` gives its one synchronous
   * write port (module clock, no reset), `mem.read(addr)` an asynchronous read.
   * Addresses are unsigned and exactly log2(depth) bits.
   */
  memory(name: string, width: Dim | number, depth: Dim | number, opts: { signed?: boolean; doc?: string } = {}): Memory {
    if (!this.clk) throw new WidthError(`${this.name}: declare clock() before memory ${name}`);
    this.claim(name);
    const mem = new Memory(this.name, name, Dim.from(width), Dim.from(depth), opts.signed ?? false, opts.doc, (w) => this.items.push(w));
    this.mems.push(mem);
    return mem;
  }

  /**
   * An array of nets, `wire [W-1:0] name [0:D0-1]...`: one net per element,
   * addressed with `arr.at(i, j)` (constants or genvar expressions).
   */
  wireArray(name: string, width: Dim | number, dims: (Dim | number)[], opts: { signed?: boolean; doc?: string } = {}): WireArray {
    this.claim(name);
    const a = new WireArray(this.name, name, Dim.from(width), dims.map((d) => Dim.from(d)), opts.signed ?? false, opts.doc);
    this.arrays.push(a);
    return a;
  }

  /**
   * A formal property (Property): `kind` of the 1-bit `expr` at every clock
   * edge while rst_n is high. Properties read signals but drive nothing; a
   * signal read only here is still unused for simulation and synthesis.
   */
  property(kind: Property['kind'], label: string, expr: Expr, doc: string): void {
    if (!this.clk || !this.rst) throw new WidthError(`${this.name}: declare clock() and resetN() before property ${label}`);
    checkIdent('property label', label);
    if (this.props.some((p) => p.label === label) || this.names.has(label)) throw new WidthError(`${this.name}: property label '${label}' is used twice`);
    if (expr.width.value !== 1) throw new WidthError(`${this.name}: property ${label} must be 1 bit, got ${describe(expr)}`);
    this.props.push({ kind, label, expr, doc });
  }

  /** @internal */
  finish(doc: string, config: Record<string, unknown>): ModuleDef {
    for (const f of this.fsms) {
      const driven = (items: readonly Item[]): boolean => items.some((i) => (i.kind === 'comb' && i.defaults.some((d) => d.target === f.d)) || (i.kind === 'generate' && driven(i.items)));
      if (!driven(this.items)) throw new WidthError(`${this.name}: state machine ${f.name} has no transitions (fsm.next or b.transitions)`);
    }
    for (const s of this.regs) {
      if (!this.items.some((i) => i.kind === 'reg' && i.reg === s)) {
        throw new WidthError(`${this.name}: register ${s.name} has no update`);
      }
    }
    for (const mem of this.mems) {
      if (!this.items.some((i) => i.kind === 'memwrite' && i.mem === mem)) {
        throw new WidthError(`${this.name}: memory ${mem.name} has no write port`);
      }
    }
    return Object.freeze({
      name: this.name,
      doc,
      params: [...this.params],
      localparams: [...this.locals],
      ports: [...this.ports],
      signals: [...this.takeSignals(), ...this.regs],
      memories: [...this.mems],
      wireArrays: [...this.arrays],
      items: this.takeItems(),
      properties: [...this.props],
      clock: this.clk,
      reset: this.rst,
      resetless: this.resetless,
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
