import { Dim } from './dim.ts';
import { Idx, Genvar, type GenvarEnv } from './index.ts';
import { Expr, WidthError, type BitRef } from './expr.ts';

/**
 * An array of nets: `wire [W-1:0] name [0:D0-1][0:D1-1]...`, one element per
 * index tuple. Each element is its own net, so simulators wake only the readers
 * of the element that changed (a wide flat bus shared by a whole PE grid makes
 * Icarus re-evaluate every reader on every change), and the RTL reads like the
 * structure: `psum[r][c]`.
 */
export class WireArray {
  readonly kind = 'wirearray' as const;
  /** arrays are module-level: one declaration, elements addressed by index */
  readonly scopeGenvars: readonly Genvar[] = [];

  constructor(
    readonly moduleName: string,
    readonly name: string,
    readonly width: Dim,
    readonly dims: readonly Dim[],
    readonly signed: boolean,
    readonly comment?: string,
  ) {
    if (width.value < 1) throw new WidthError(`${moduleName}.${name}: element width ${width.value} must be at least 1`);
    if (dims.length === 0 || dims.some((d) => d.value < 1)) throw new WidthError(`${moduleName}.${name}: every dimension must be at least 1`);
  }

  /** Element at the given indices (constants or affine in genvars). */
  at(...indices: (Idx | Genvar | Dim | number)[]): ArrayElement {
    if (indices.length !== this.dims.length) {
      throw new WidthError(`${this.moduleName}.${this.name} has ${this.dims.length} dimensions, indexed with ${indices.length}`);
    }
    return new ArrayElement(this, indices.map((i) => Idx.of(i)));
  }

  /** Every index tuple, for the elaboration checks. */
  *elements(): Generator<number[]> {
    const total = this.dims.reduce((a, d) => a * d.value, 1);
    for (let flat = 0; flat < total; flat++) {
      const idx: number[] = [];
      let rest = flat;
      for (let k = this.dims.length - 1; k >= 0; k--) {
        idx.unshift(rest % this.dims[k]!.value);
        rest = Math.floor(rest / this.dims[k]!.value);
      }
      yield idx;
    }
  }
}

/** One element of a WireArray: readable, and drivable by an assign or an instance output. */
export class ArrayElement extends Expr {
  constructor(
    readonly array: WireArray,
    readonly indices: readonly Idx[],
  ) {
    super();
  }
  get width(): Dim {
    return this.array.width;
  }
  get signed(): boolean {
    return this.array.signed;
  }
  render(): string {
    return `${this.array.name}${this.indices.map((i) => `[${i.render()}]`).join('')}`;
  }
  /** The evaluated indices in one generate iteration, range-checked. */
  element(env: GenvarEnv): number[] {
    return this.indices.map((ix, k) => {
      const v = ix.value(env);
      const n = this.array.dims[k]!.value;
      if (v < 0 || v >= n) throw new WidthError(`${this.array.moduleName}.${this.array.name}: index ${v} of dimension ${k} is out of range 0..${n - 1}`);
      return v;
    });
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    out.push({ signal: this.array, lsb: 0, width: this.width.value, element: this.element(env) });
  }
  override msb(): Expr {
    return new ElementBit(this, this.width.value - 1);
  }
}

/** A constant bit of an array element (for sign extension). */
class ElementBit extends Expr {
  readonly signed = false;
  readonly width = Dim.of(1);
  constructor(
    readonly elem: ArrayElement,
    readonly bitIndex: number,
  ) {
    super();
  }
  render(): string {
    return `${this.elem.render()}[${this.bitIndex}]`;
  }
  reads(env: GenvarEnv, out: BitRef[]): void {
    out.push({ signal: this.elem.array, lsb: this.bitIndex, width: 1, element: this.elem.element(env) });
  }
}
