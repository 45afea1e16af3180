import { Dim } from './dim.ts';
import type { Genvar, GenvarEnv } from './index.ts';
import { Expr, WidthError, describe, type BitRef } from './expr.ts';

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
 * - any number of asynchronous reads (`read`), each an expression.
 *
 * The depth is a power of two (at least 2) and every address is exactly
 * log2(depth) bits: each address value then names a word, so there is no
 * out-of-range read for the simulators to disagree on (Icarus returns X,
 * Verilator zero) and no WIDTH/UNUSED lint on the address bits.
 * Synthesis infers a memory (Yosys `memory` pass) with one write and one
 * asynchronous read port per read expression.
 */
export class Memory {
  readonly kind = 'memory' as const;
  /** memories are module-level: one copy, never per generate iteration */
  readonly scopeGenvars: readonly Genvar[] = [];
  /** address width: log2(depth) */
  readonly addrWidth: number;
  private written = false;

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
    if (this.written) throw new WidthError(`${this.moduleName}.${this.name}: memory has a write port already (one write port per memory)`);
    this.checkAddr('write', addr);
    if (data.width.value !== this.width.value || data.signed !== this.signed) {
      throw new WidthError(
        `${this.moduleName}.${this.name}: write data ${describe(data)} must be ${this.width.value} bits${this.signed ? ', signed' : ', unsigned'} like the memory`,
      );
    }
    if (enable && enable.width.value !== 1) throw new WidthError(`${this.moduleName}.${this.name}: write enable ${describe(enable)} must be 1 bit`);
    this.written = true;
    this.sink({ kind: 'memwrite', mem: this, addr, data, enable: enable ?? null });
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
