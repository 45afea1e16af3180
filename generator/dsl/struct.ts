import { Dim } from './dim.ts';
import { Idx, type Genvar } from './index.ts';
import { concat, WidthError, describe, type Expr, type Signal, type Slice } from './expr.ts';
import type { ScopeBuilder } from './module.ts';

export interface FieldSpec<F extends string = string> {
  name: F;
  /** a number, or a Dim of the module's parameters (e.g. `PB`) */
  width: Dim | number;
  doc?: string;
}

interface Field<F extends string> {
  name: F;
  width: Dim;
  /** offset of the field's least significant bit */
  lsb: Dim;
  doc?: string;
}

/**
 * A packed layout: named fields with widths, the first field in the least
 * significant bits (a Chisel Bundle, an Amaranth layout). A layout is plain
 * data; `ModuleBuilder.struct` binds it to a module, where its offsets get
 * names.
 */
export class Layout<F extends string = string> {
  readonly fields: readonly Field<F>[];
  readonly width: Dim;

  constructor(
    /** what one value of the layout is, for comments */
    readonly name: string,
    specs: readonly FieldSpec<F>[],
  ) {
    if (specs.length === 0) throw new WidthError(`layout ${name} has no fields`);
    let lsb = Dim.of(0);
    const fields: Field<F>[] = [];
    for (const s of specs) {
      if (!/^[a-z][a-z0-9_]*$/.test(s.name)) throw new WidthError(`layout ${name}: field name '${s.name}' must be lower case (letters, digits, _)`);
      if (fields.some((f) => f.name === s.name)) throw new WidthError(`layout ${name}: field ${s.name} appears twice`);
      const width = Dim.from(s.width);
      if (width.value < 1) throw new WidthError(`layout ${name}: field ${s.name} has ${width.value} bits`);
      fields.push({ name: s.name, width, lsb, doc: s.doc });
      lsb = lsb.plus(width);
    }
    this.fields = fields;
    this.width = lsb;
  }

  field(name: F): Field<F> {
    const f = this.fields.find((x) => x.name === name);
    if (!f) throw new WidthError(`layout ${this.name} has no field ${name} (fields: ${this.fields.map((x) => x.name).join(', ')})`);
    return f;
  }
}

/** What a struct needs of its module: named constants. */
export interface ConstantSink {
  readonly name: string;
  localparam(name: string, value: Dim, doc: string): Dim;
}

/**
 * A layout bound to one module (`ModuleBuilder.struct`). Field offsets become
 * localparams `<PREFIX>_<FIELD>_LSB`, and fields of a literal width above one
 * bit a width `<PREFIX>_<FIELD>_W` (fields sized by a parameter use it; with
 * `nameWidths` false the number stays), each
 * declared when first used, so both the packing and the unpacking side read
 * `cfg[i * CFGW + LS_PARTNER_LSB +: PB]` instead of magic offsets.
 */
export class Struct<F extends string = string> {
  private readonly lsbs = new Map<F, Dim>();
  private readonly widths = new Map<F, Dim>();

  /** @internal created by ModuleBuilder.struct */
  constructor(
    private readonly m: ConstantSink,
    readonly prefix: string,
    readonly layout: Layout<F>,
    /** the width of one value (stride of an array of them): a parameter with the layout's width, or the layout's own */
    readonly width: Dim,
    /** false: fields of a literal width keep the number (widths of a fixed format, binary32) */
    private readonly nameWidths = true,
  ) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(prefix)) throw new WidthError(`${m.name}: struct prefix '${prefix}' must be upper case`);
    if (width.value !== layout.width.value) {
      throw new WidthError(`${m.name}: struct ${prefix} is bound to ${width.text} = ${width.value} bits but ${layout.name} has ${layout.width.value} (${layout.width.text})`);
    }
  }

  private constName(f: F, suffix: string): string {
    return `${this.prefix}_${f.toUpperCase()}_${suffix}`;
  }

  /** The named offset of a field. */
  lsb(name: F): Dim {
    let d = this.lsbs.get(name);
    if (!d) {
      const f = this.layout.field(name);
      d = this.m.localparam(this.constName(name, 'LSB'), f.lsb, `${this.layout.name}.${f.name}${f.doc ? ` (${f.doc})` : ''}`);
      this.lsbs.set(name, d);
    }
    return d;
  }

  /** The width of a field: 1, its parameter, or a named constant. */
  fieldWidth(name: F): Dim {
    let d = this.widths.get(name);
    if (!d) {
      const f = this.layout.field(name);
      d = !this.nameWidths || !f.width.isLiteral || f.width.value === 1 ? f.width : this.m.localparam(this.constName(name, 'W'), f.width, `width of ${this.layout.name}.${f.name}`);
      this.widths.set(name, d);
    }
    return d;
  }

  private base(bus: Signal, element: Idx | Genvar | Dim | number | undefined): Idx {
    const n = bus.width.value / this.width.value;
    if (!Number.isInteger(n) || (element === undefined && n !== 1)) {
      throw new WidthError(`${this.m.name}: ${describe(bus)} is not ${element === undefined ? 'one' : 'an array of'} ${this.layout.name} (${this.width.value} bits)`);
    }
    return element === undefined ? Idx.of(0) : Idx.of(element).times(this.width);
  }

  /** Field `name` of the value in `bus` (element `element` of an array of values, lane 0 in the LSBs). */
  field(bus: Signal, name: F, element?: Idx | Genvar | Dim | number): Slice {
    return bus.slice(this.base(bus, element).plus(this.lsb(name)), this.fieldWidth(name));
  }

  private checkValues(values: Record<F, Expr>): void {
    for (const f of this.layout.fields) {
      const v = values[f.name];
      if (!v) throw new WidthError(`${this.m.name}: ${this.layout.name} value lacks field ${f.name}`);
      if (v.width.value !== f.width.value) throw new WidthError(`${this.m.name}: ${this.layout.name}.${f.name} is ${f.width.value} bits, given ${describe(v)}`);
    }
    const extra = Object.keys(values).filter((k) => !this.layout.fields.some((f) => f.name === k));
    if (extra.length > 0) throw new WidthError(`${this.m.name}: ${this.layout.name} has no field ${extra.join(', ')}`);
  }

  /** A value of the layout as one concatenation, every field given. */
  pack(values: Record<F, Expr>): Expr {
    this.checkValues(values);
    return concat(...[...this.layout.fields].reverse().map((f) => values[f.name]));
  }

  /** Drives each field of `bus` (element `element` of an array) with one assignment per field, every field given. */
  assign(scope: ScopeBuilder, bus: Signal, values: Record<F, Expr>, element?: Idx | Genvar | Dim | number): void {
    this.checkValues(values);
    for (const f of this.layout.fields) scope.assign(this.field(bus, f.name, element), values[f.name]);
  }
}
