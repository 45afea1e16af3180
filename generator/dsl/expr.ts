import { Dim } from './dim.ts';
import { Idx, Genvar, type GenvarEnv } from './index.ts';
import type { Memory } from './memory.ts';
import type { WireArray } from './wire-array.ts';
import type { Doc } from './layout.ts';

/**
 * Typed hardware expressions. Every node knows its width and signedness, and
 * operators insist on matching widths: widening is always explicit (sext, zext),
 * so the emitted Verilog never relies on context-dependent sizing and lints clean.
 *
 * Each node renders to Verilog whose self-determined width and signedness equal
 * the node's own (e.g. a signed concatenation renders as `$signed({...})`).
 */
export abstract class Expr {
  abstract readonly width: Dim;
  abstract readonly signed: boolean;
  abstract render(): string;
  /** The expression's line layout: `render()` as one line, or a group the renderer may break over lines. */
  layout(): Doc {
    return this.render();
  }
  /** Signal bits this expression reads, for driver/usage checks. */
  abstract reads(env: GenvarEnv, out: BitRef[]): void;

  // ---- arithmetic (same width in, same width out: two's complement wrap) ----
  plus(o: Expr): Expr {
    return new Binary('+', this, sameShape('+', this, o), this.width, this.signed);
  }
  minus(o: Expr): Expr {
    return new Binary('-', this, sameShape('-', this, o), this.width, this.signed);
  }
  /** Full-precision product: width is the sum of the operand widths. */
  times(o: Expr): Expr {
    if (this.signed !== o.signed) throw new WidthError(`'*' mixes signed ${describe(this)} and unsigned ${describe(o)}`);
    const w = this.width.plus(o.width);
    return new Binary('*', extendTo(this, w), extendTo(o, w), w, this.signed);
  }
  neg(): Expr {
    return new Unary('-', this, this.width, this.signed);
  }

  // ---- bitwise and logic ----
  and(o: Expr): Expr {
    return new Binary('&', this, sameShape('&', this, o), this.width, this.signed);
  }
  or(o: Expr): Expr {
    return new Binary('|', this, sameShape('|', this, o), this.width, this.signed);
  }
  xor(o: Expr): Expr {
    return new Binary('^', this, sameShape('^', this, o), this.width, this.signed);
  }
  not(): Expr {
    return new Unary('~', this, this.width, this.signed);
  }
  /** OR-reduction: 1 when any bit is set. */
  any(): Expr {
    return new Unary('|', this, Dim.of(1), false);
  }

  // ---- comparisons (1-bit unsigned result) ----
  eq(o: Expr): Expr {
    return new Binary('==', this, sameShape('==', this, o), Dim.of(1), false);
  }
  ne(o: Expr): Expr {
    return new Binary('!=', this, sameShape('!=', this, o), Dim.of(1), false);
  }
  lt(o: Expr): Expr {
    return new Binary('<', this, sameShape('<', this, o), Dim.of(1), false);
  }
  ge(o: Expr): Expr {
    return new Binary('>=', this, sameShape('>=', this, o), Dim.of(1), false);
  }

  // ---- shifts ----
  /** Constant left shift that grows the width by `n` (appends n zero bits). */
  shlGrow(n: Dim | number): Expr {
    const d = Dim.from(n);
    if (d.value === 0) return this;
    const c = concat(this, Const.zero(d));
    return this.signed ? c.asSigned() : c;
  }
  /** Left shift by a run-time unsigned amount, width kept (high bits drop). */
  shl(amount: Expr): Expr {
    if (amount.signed) throw new WidthError(`shift amount ${describe(amount)} must be unsigned`);
    return new Binary('<<', this, amount, this.width, this.signed);
  }
  /** Right shift by a run-time unsigned amount: arithmetic when signed. */
  shr(amount: Expr): Expr {
    if (amount.signed) throw new WidthError(`shift amount ${describe(amount)} must be unsigned`);
    return new Binary(this.signed ? '>>>' : '>>', this, amount, this.width, this.signed);
  }

  // ---- width and sign changes (all explicit) ----
  /** Sign-extend to `w` bits (w >= width). Result is signed. */
  sext(w: Dim | number): Expr {
    const d = Dim.from(w);
    const grow = d.minus(this.width);
    if (grow.value < 0) throw new WidthError(`sext of ${describe(this)} to ${d.value} bits would truncate`);
    if (grow.value === 0) return this.signed ? this : this.asSigned();
    const body = this instanceof Cast ? this.a : this; // a cast inside a concatenation is moot
    return concat(new Replicate(grow, this.msb()), body).asSigned();
  }
  /** Zero-extend to `w` bits (w >= width). Result is unsigned. */
  zext(w: Dim | number): Expr {
    const d = Dim.from(w);
    const grow = d.minus(this.width);
    if (grow.value < 0) throw new WidthError(`zext of ${describe(this)} to ${d.value} bits would truncate`);
    if (grow.value === 0) return this.asUnsigned();
    return concat(Const.zero(grow), this instanceof Cast ? this.a : this);
  }
  asSigned(): Expr {
    return this.signed ? this : new Cast(true, this);
  }
  /** The most significant bit, for sign extension: of a signal, part-select or cast of one. */
  msb(): Expr {
    throw new WidthError(`sign extension of compound expression ${this.render()}; assign it to a wire first`);
  }
  asUnsigned(): Expr {
    return this.signed ? new Cast(false, this) : this;
  }

  // ---- selects: only of named signals, so every read is traceable ----
  bit(i: Idx | Genvar | Dim | number): Slice {
    return this.slice(i, 1);
  }
  slice(lsb: Idx | Genvar | Dim | number, width: Dim | number): Slice {
    if (!(this instanceof Signal)) throw new WidthError(`part-select of a compound expression; assign it to a wire first`);
    return new Slice(this, Idx.of(lsb), Dim.from(width));
  }
  /**
   * Element `index` of a flat bus of `width`-bit elements, chosen at run time by
   * an unsigned expression: a multiplexer, rendered `bus[index * W +: W]`.
   * Elements beyond the bus (index >= count) must not be selectable: the bus
   * width must be width * 2^(index bits).
   */
  laneAt(index: Expr, width: Dim | number): Expr {
    if (!(this instanceof Signal)) throw new WidthError(`run-time select of a compound expression; assign it to a wire first`);
    if (index.signed) throw new WidthError(`select index ${describe(index)} must be unsigned`);
    const w = Dim.from(width);
    if (w.value * 2 ** index.width.value !== this.width.value) {
      throw new WidthError(`run-time select of ${describe(this)} in ${w.value}-bit elements needs exactly 2^${index.width.value} elements`);
    }
    return new DynLane(this, index, w);
  }
  /** Element `i` of a flat bus of `width`-bit elements: bits [i*width +: width]. */
  lane(i: Idx | Genvar | Dim | number, width: Dim | number): Slice {
    return this.slice(Idx.of(i).times(width), width);
  }
}

/** A width or connection mistake in a hardware description, found at elaboration. */
export class WidthError extends Error {
  override name = 'WidthError';
}

export interface BitRef {
  /** a signal, a memory (its word width; reads and the write port cover all of it), or a net array */
  signal: Signal | Memory | WireArray;
  lsb: number;
  width: number;
  /** the element of a net array */
  element?: number[];
}

/**
 * `logic`: a combinational variable, declared `reg` and driven by one
 * combinational block (`always @(*)`, `ScopeBuilder.comb`).
 */
export type SignalKind = 'input' | 'output' | 'wire' | 'reg' | 'logic';

/** A named net: a port, wire or register of one module. */
export class Signal extends Expr {
  constructor(
    readonly moduleName: string,
    readonly name: string,
    readonly kind: SignalKind,
    readonly width: Dim,
    readonly signed: boolean,
    readonly comment?: string,
    /** genvars of the generate loops a local wire is declared in (one copy per iteration) */
    readonly scopeGenvars: readonly Genvar[] = [],
  ) {
    super();
    if (width.value < 1) throw new WidthError(`${moduleName}.${name}: width ${width.text} = ${width.value} must be at least 1`);
  }
  render(): string {
    return this.name;
  }
  override msb(): Expr {
    // a 1-bit signal is declared without a range: it is its own MSB (a select [0] would be illegal)
    if (this.width.isLiteral && this.width.value === 1) return this.signed ? new Cast(false, this) : this;
    return this.bit(this.width.minus(1));
  }
  reads(_env: GenvarEnv, out: BitRef[]): void {
    out.push({ signal: this, lsb: 0, width: this.width.value });
  }
}

export class Slice extends Expr {
  readonly signed = false; // Verilog part-selects are unsigned
  constructor(
    readonly signal: Signal,
    readonly lsb: Idx,
    readonly width: Dim,
  ) {
    super();
    if (lsb.isConstant) checkSliceRange(signal, lsb.value(new Map()), width.value);
  }
  render(): string {
    const lsb = this.lsb.render();
    if (this.width.isLiteral && this.width.value === 1) return `${this.signal.name}[${lsb}]`;
    if (this.lsb.isConstant && /^\d+$/.test(lsb) && this.width.isLiteral) {
      return `${this.signal.name}[${Number(lsb) + this.width.value - 1}:${lsb}]`;
    }
    return `${this.signal.name}[${lsb} +: ${this.width.text}]`;
  }
  override msb(): Expr {
    return new Slice(this.signal, this.lsb.plus(this.width.minus(1)), Dim.of(1));
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    const lo = this.lsb.value(env);
    checkSliceRange(this.signal, lo, this.width.value);
    out.push({ signal: this.signal, lsb: lo, width: this.width.value });
  }
}

class DynLane extends Expr {
  readonly signed = false;
  constructor(
    readonly signal: Signal,
    readonly index: Expr,
    readonly width: Dim,
  ) {
    super();
  }
  render(): string {
    return `${this.signal.name}[${this.index.render()} * ${this.width.atom} +: ${this.width.text}]`;
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.index.reads(env, out);
    out.push({ signal: this.signal, lsb: 0, width: this.signal.width.value });
  }
}

function checkSliceRange(s: Signal, lo: number, w: number): void {
  if (lo < 0 || lo + w > s.width.value) {
    throw new WidthError(`${s.moduleName}.${s.name}[${lo + w - 1}:${lo}] is out of range: ${s.name} has ${s.width.value} bits`);
  }
}

export class Const extends Expr {
  constructor(
    readonly value: bigint,
    readonly width: Dim,
    readonly signed: boolean,
  ) {
    super();
    const w = BigInt(width.value);
    const lo = signed ? -(1n << (w - 1n)) : 0n;
    const hi = signed ? (1n << (w - 1n)) - 1n : (1n << w) - 1n;
    if (value < lo || value > hi) {
      throw new WidthError(`constant ${value} does not fit ${signed ? 'signed' : 'unsigned'} ${width.value} bits`);
    }
  }
  static zero(w: Dim | number, signed = false): Const {
    return new Const(0n, Dim.from(w), signed);
  }
  render(): string {
    if (this.value === 0n && !this.width.isLiteral) {
      const z = `{${this.width.atom}{1'b0}}`;
      return this.signed ? `$signed(${z})` : z;
    }
    const w = this.width.value;
    const bits = this.value < 0n ? (1n << BigInt(w)) + this.value : this.value;
    return `${w}'${this.signed ? 's' : ''}${w <= 4 ? 'b' + bits.toString(2).padStart(w, '0') : 'h' + bits.toString(16).toUpperCase()}`;
  }
  reads(): void {}
}

/**
 * The value of a parameter as a `width`-bit unsigned constant, rendered as a
 * part-select of the parameter (`GUARD[SHW - 1:0]`) so the Verilog names it.
 */
export class ParamConst extends Expr {
  readonly signed = false;
  readonly width: Dim;
  constructor(
    readonly param: Dim,
    width: Dim | number,
  ) {
    super();
    this.width = Dim.from(width);
    if (param.value < 0 || param.value >= 2 ** this.width.value) throw new WidthError(`parameter ${param.text} = ${param.value} does not fit ${this.width.value} bits`);
  }
  render(): string {
    return `${this.param.atom}[${this.width.minus(1).text}:0]`;
  }
  reads(): void {}
}

/** A literal of the given width; `lit(3, 4)` renders `4'b0011`-like text. */
export function lit(value: number | bigint, width: Dim | number, signed = false): Const {
  return new Const(BigInt(value), Dim.from(width), signed);
}

class Unary extends Expr {
  constructor(
    readonly op: string,
    readonly a: Expr,
    readonly width: Dim,
    readonly signed: boolean,
  ) {
    super();
  }
  render(): string {
    return `(${this.op}${this.a.render()})`;
  }
  override layout(): Doc {
    return { open: `(${this.op}`, items: [{ lead: '', doc: this.a.layout(), trail: '' }], close: ')' };
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.a.reads(env, out);
  }
}

const CHAINED = new Set(['|', '&', '^', '+', '-']);

class Binary extends Expr {
  constructor(
    readonly op: string,
    readonly a: Expr,
    readonly b: Expr,
    readonly width: Dim,
    readonly signed: boolean,
  ) {
    super();
  }
  /**
   * A left-nested chain of one operator, ((a & b) & c), renders as (a & b & c):
   * Verilog parses the latter the same way (its binary operators associate
   * to the left), and parentheses do not change expression sizing.
   */
  render(): string {
    return `(${this.chainText()})`;
  }
  private chainText(): string {
    const left = CHAINED.has(this.op) && this.a instanceof Binary && this.a.op === this.op ? this.a.chainText() : this.a.render();
    return `${left} ${this.op} ${this.b.render()}`;
  }
  override layout(): Doc {
    // a chain ((a | b) | c) is laid out as one group: a | b | c
    const left = this.a.layout();
    const chain = CHAINED.has(this.op) && this.a instanceof Binary && this.a.op === this.op && typeof left !== 'string';
    const items = chain ? [...left.items] : [{ lead: '', doc: left, trail: '' }];
    return { open: '(', items: [...items, { lead: ` ${this.op} `, doc: this.b.layout(), trail: '' }], close: ')' };
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.a.reads(env, out);
    this.b.reads(env, out);
  }
}

class Cast extends Expr {
  constructor(
    readonly signed: boolean,
    readonly a: Expr,
  ) {
    super();
  }
  get width(): Dim {
    return this.a.width;
  }
  render(): string {
    return `${this.signed ? '$signed' : '$unsigned'}(${this.a.render()})`;
  }
  override layout(): Doc {
    return { open: `${this.signed ? '$signed' : '$unsigned'}(`, items: [{ lead: '', doc: this.a.layout(), trail: '' }], close: ')' };
  }
  override msb(): Expr {
    return this.a.msb();
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.a.reads(env, out);
  }
}

class Replicate extends Expr {
  readonly signed = false;
  constructor(
    readonly count: Dim,
    readonly a: Expr,
  ) {
    super();
  }
  get width(): Dim {
    return this.a.width.times(this.count);
  }
  render(): string {
    return `{${this.count.atom}{${this.a.render()}}}`;
  }
  override layout(): Doc {
    return { open: `{${this.count.atom}{`, items: [{ lead: '', doc: this.a.layout(), trail: '' }], close: '}}' };
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.a.reads(env, out);
  }
}

class Concat extends Expr {
  readonly signed = false;
  readonly width: Dim;
  constructor(readonly parts: readonly Expr[]) {
    super();
    this.width = parts.slice(1).reduce((w, p) => w.plus(p.width), parts[0]!.width);
  }
  render(): string {
    return `{${this.parts.map((p) => p.render()).join(', ')}}`;
  }
  override layout(): Doc {
    return { open: '{', items: this.parts.map((p, k) => ({ lead: k > 0 ? ' ' : '', doc: p.layout(), trail: k < this.parts.length - 1 ? ',' : '' })), close: '}' };
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    for (const p of this.parts) p.reads(env, out);
  }
}

class Mux extends Expr {
  constructor(
    readonly sel: Expr,
    readonly a: Expr,
    readonly b: Expr,
  ) {
    super();
  }
  get width(): Dim {
    return this.a.width;
  }
  get signed(): boolean {
    return this.a.signed;
  }
  render(): string {
    return `(${this.sel.render()} ? ${this.a.render()} : ${this.b.render()})`;
  }
  override layout(): Doc {
    return {
      open: '(',
      items: [
        { lead: '', doc: this.sel.layout(), trail: '' },
        { lead: ' ? ', doc: this.a.layout(), trail: '' },
        { lead: ' : ', doc: this.b.layout(), trail: '' },
      ],
      close: ')',
    };
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.sel.reads(env, out);
    this.a.reads(env, out);
    this.b.reads(env, out);
  }
}

/**
 * The text of `e` without one pair of enclosing parentheses, for a place
 * that delimits it anyway (an assignment's right side, an `if` condition).
 */
export function bare(e: Expr): string {
  const t = e.render();
  if (!t.startsWith('(') || !t.endsWith(')')) return t;
  let depth = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')') depth--;
    if (depth === 0 && i < t.length - 1) return t;
  }
  return t.slice(1, -1);
}

/** Concatenation, most significant part first (as in Verilog). Unsigned. */
export function concat(...parts: Expr[]): Expr {
  if (parts.length === 0) throw new WidthError('empty concatenation');
  return parts.length === 1 ? parts[0]!.asUnsigned() : new Concat(parts);
}

/** `sel ? whenTrue : whenFalse`, with a 1-bit select and matching arms. */
export function mux(sel: Expr, whenTrue: Expr, whenFalse: Expr): Expr {
  if (sel.width.value !== 1) throw new WidthError(`mux select ${describe(sel)} must be 1 bit`);
  sameShape('?:', whenTrue, whenFalse);
  return new Mux(sel, whenTrue, whenFalse);
}

function extendTo(e: Expr, w: Dim): Expr {
  return e.signed ? e.sext(w) : e.zext(w);
}

function sameShape(op: string, a: Expr, b: Expr): Expr {
  if (a.width.value !== b.width.value) {
    throw new WidthError(`'${op}' operands differ in width: ${describe(a)} vs ${describe(b)}`);
  }
  if (a.signed !== b.signed) {
    throw new WidthError(`'${op}' mixes signedness: ${describe(a)} vs ${describe(b)}`);
  }
  return b;
}

export function describe(e: Expr): string {
  const what = e instanceof Signal ? `${e.moduleName}.${e.name}` : e.render();
  return `${what} [${e.width.value} bit${e.width.value === 1 ? '' : 's'}${e.signed ? ', signed' : ''}]`;
}

/**
 * A named constant of a module, `localparam [W-1:0] NAME = W'dV;` (an FSM
 * state code, a field value): it renders as its name and has the width W.
 */
export class NamedConst extends Expr {
  readonly signed = false;
  constructor(
    readonly name: string,
    readonly value: bigint,
    readonly width: Dim,
  ) {
    super();
    if (value < 0n || value >= 1n << BigInt(width.value)) throw new WidthError(`constant ${name} = ${value} does not fit ${width.value} bits`);
  }
  render(): string {
    return this.name;
  }
  reads(): void {}
}
