import { Dim } from './dim.ts';
import type { Genvar, GenvarEnv } from './index.ts';
import { Const, Expr, WidthError, describe, mux, type BitRef, type Signal } from './expr.ts';
import type { ModuleBuilder } from './module.ts';

/** The write port of a memory: on the clock edge, `name[addr] <= data` when `enable`. */
export interface MemWrite {
  kind: 'memwrite';
  mem: Memory;
  addr: Expr;
  data: Expr;
  enable: Expr | null;
}

/** log2(n) when n is a power of two, else null. */
function log2Exact(n: number): number | null {
  if (!Number.isSafeInteger(n) || n < 1) return null;
  const k = Math.round(Math.log2(n));
  return 2 ** k === n ? k : null;
}

/**
 * A RAM of `depth` words of `width` bits: `reg [W-1:0] name [0:DEPTH-1]`.
 *
 * - one synchronous write port (`write`), clocked by the module clock and
 *   never reset (RAM contents are not reset; a reader must write a word before
 *   it uses it);
 * - any number of asynchronous reads (`read`), each an expression;
 * - any number of registered (synchronous) read ports (`readRegistered`): the
 *   address is taken at a clock edge and the word is in a register in the next
 *   cycle, as in a block RAM, so a flow can map the memory to one.
 *
 * The depth is a power of two (at least 2) and every address is exactly
 * log2(depth) bits: each address value then names a word, so there is no
 * out-of-range read for the simulators to disagree on (Icarus returns X,
 * Verilator zero) and no WIDTH/UNUSED lint on the address bits.
 * Synthesis infers a memory (Yosys `memory` pass) with one write port, one
 * asynchronous read port per read expression and one synchronous read port
 * per registered read (`memory_dff` merges the data register into the port).
 */
export class Memory {
  readonly kind = 'memory' as const;
  /** memories are module-level: one copy, never per generate iteration */
  readonly scopeGenvars: readonly Genvar[] = [];
  /** address width: log2(depth) */
  readonly addrWidth: number;
  private port: MemWrite | null = null;

  /** @internal created by ModuleBuilder.memory */
  constructor(
    readonly moduleName: string,
    readonly name: string,
    readonly width: Dim,
    readonly depth: Dim,
    readonly signed: boolean,
    readonly comment: string | undefined,
    private readonly sink: (w: MemWrite) => void,
  ) {
    if (width.value < 1) throw new WidthError(`${moduleName}.${name}: memory width ${width.text} = ${width.value} must be at least 1`);
    const a = log2Exact(depth.value);
    if (a === null || a < 1) {
      throw new WidthError(`${moduleName}.${name}: memory depth ${depth.text} = ${depth.value} must be a power of two, at least 2`);
    }
    this.addrWidth = a;
  }

  private checkAddr(what: string, addr: Expr): void {
    if (addr.signed || addr.width.value !== this.addrWidth) {
      throw new WidthError(
        `${this.moduleName}.${this.name}: ${what} address ${describe(addr)} must be unsigned and ${this.addrWidth} bits (log2 of depth ${this.depth.value})`,
      );
    }
  }

  /** Asynchronous read of the word at `addr` (unsigned, log2(depth) bits): `name[addr]`. */
  read(addr: Expr): Expr {
    this.checkAddr('read', addr);
    return new MemRead(this, addr);
  }

  /**
   * The memory's one write port: on the rising clock edge, when `enable`
   * (1 bit; always when omitted), the word at `addr` becomes `data` (same
   * width and signedness as the memory). A read in the same cycle sees the old word.
   */
  write(addr: Expr, data: Expr, enable?: Expr): void {
    if (this.port) throw new WidthError(`${this.moduleName}.${this.name}: memory has a write port already (one write port per memory)`);
    this.checkAddr('write', addr);
    if (data.width.value !== this.width.value || data.signed !== this.signed) {
      throw new WidthError(
        `${this.moduleName}.${this.name}: write data ${describe(data)} must be ${this.width.value} bits${this.signed ? ', signed' : ', unsigned'} like the memory`,
      );
    }
    if (enable && enable.width.value !== 1) throw new WidthError(`${this.moduleName}.${this.name}: write enable ${describe(enable)} must be 1 bit`);
    this.port = { kind: 'memwrite', mem: this, addr, data, enable: enable ?? null };
    this.sink(this.port);
  }

  /**
   * A registered (synchronous) read port: the register `name` (declared in
   * module `m`, reset to 0 like every register) loads the word at `addr` on
   * each rising clock edge, when `enable` (always when omitted). The address
   * is taken at the edge and the word is there in the next cycle: the read
   * port of a block RAM, which Yosys's `memory_dff` merges into the memory.
   *
   * - A write to the same word at the same edge: by default the port reads
   *   the old word (read-first). With `transparent`, it reads the word being
   *   written (write-first): the register then loads the write data when the
   *   write port is enabled at the same address, so a word written at edge e
   *   can be read at edge e. A transparent port needs the write port declared
   *   first.
   * - With `zero` (1 bit), the register loads 0 instead of the word when
   *   `zero` is high: the synchronous reset of a block RAM's output register.
   */
  readRegistered(m: ModuleBuilder, name: string, addr: Expr, opts: { enable?: Expr; transparent?: boolean; zero?: Expr; doc?: string } = {}): Signal {
    this.checkAddr('registered read', addr);
    if (opts.zero && opts.zero.width.value !== 1) throw new WidthError(`${this.moduleName}.${this.name}: zero condition ${describe(opts.zero)} must be 1 bit`);
    const word: Expr = new MemRead(this, addr);
    let next = word;
    if (opts.transparent) {
      const w = this.port;
      if (!w) throw new WidthError(`${this.moduleName}.${this.name}: a transparent read port needs the write port declared first`);
      const hit = w.addr.eq(addr);
      next = mux(w.enable ? w.enable.and(hit) : hit, w.data, word);
    }
    if (opts.zero) next = mux(opts.zero, new Const(0n, this.width, this.signed), next);
    const how = opts.transparent ? 'write-first: a write at the same edge and address is seen' : 'read-first: a write at the same edge is not seen';
    m.comment(`registered read port of ${this.name}: the word at ${addr.render()} is in ${name} the cycle after the edge (${how})`);
    const q = m.reg(name, this.width, { signed: this.signed, doc: opts.doc ?? `word of ${this.name} read at the last clock edge` });
    m.update(q, next, { enable: opts.enable });
    return q;
  }
}

/** `name[addr]`: an asynchronous memory read. */
export class MemRead extends Expr {
  constructor(
    readonly mem: Memory,
    readonly addr: Expr,
  ) {
    super();
  }
  get width(): Dim {
    return this.mem.width;
  }
  get signed(): boolean {
    return this.mem.signed;
  }
  render(): string {
    return `${this.mem.name}[${this.addr.render()}]`;
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    this.addr.reads(env, out);
    out.push({ signal: this.mem, lsb: 0, width: this.mem.width.value });
  }
}
