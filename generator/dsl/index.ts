import { Dim } from './dim.ts';

/**
 * A loop variable of a generate block (a Verilog genvar). Its numeric value is
 * only known per iteration; elaboration evaluates indices for every iteration
 * to check ranges and drivers.
 */
export class Genvar {
  constructor(readonly name: string, readonly count: Dim) {}
}

/** Values of the enclosing genvars during one iteration. */
export type GenvarEnv = ReadonlyMap<Genvar, number>;

interface Term {
  coef: Dim;
  gv: Genvar | null;
}

/**
 * An affine bit index `c0 + c1*g1 + c2*g2 ...` over genvars, e.g. `c * WBITS`.
 * Used for part-selects inside generate loops.
 */
export class Idx {
  private constructor(private readonly terms: readonly Term[]) {}

  static of(x: Idx | Genvar | Dim | number): Idx {
    if (x instanceof Idx) return x;
    if (x instanceof Genvar) return new Idx([{ coef: Dim.of(1), gv: x }]);
    return new Idx([{ coef: Dim.from(x), gv: null }]);
  }

  times(k: Dim | number): Idx {
    const d = Dim.from(k);
    return new Idx(this.terms.map((t) => ({ coef: t.coef.times(d), gv: t.gv })));
  }

  plus(o: Idx | Genvar | Dim | number): Idx {
    const other = Idx.of(o);
    return new Idx([...this.terms, ...other.terms].filter((t) => !(t.gv === null && t.coef.isLiteral && t.coef.value === 0)));
  }

  genvars(): Genvar[] {
    return this.terms.flatMap((t) => (t.gv ? [t.gv] : []));
  }

  get isConstant(): boolean {
    return this.terms.every((t) => t.gv === null);
  }

  value(env: GenvarEnv): number {
    let v = 0;
    for (const t of this.terms) {
      if (t.gv === null) {
        v += t.coef.value;
      } else {
        const g = env.get(t.gv);
        if (g === undefined) throw new Error(`genvar ${t.gv.name} used outside its generate loop`);
        v += t.coef.value * g;
      }
    }
    return v;
  }

  render(): string {
    if (this.terms.length === 0) return '0';
    return this.terms
      .map((t) => {
        if (t.gv === null) return t.coef.text;
        if (t.coef.isLiteral && t.coef.value === 1) return t.gv.name;
        return `${t.gv.name} * ${t.coef.atom}`;
      })
      .join(' + ');
  }
}
