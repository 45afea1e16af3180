/**
 * A width or index known both as a number (for checks at elaboration) and as
 * Verilog text in terms of the module's parameters (for readable output).
 *
 * Internally a polynomial over parameter names with integer coefficients, so
 * `WBITS + ABITS - WBITS` simplifies to `ABITS` and texts stay short:
 * `Dim.param('WBITS', 4).plus(1)` renders as `WBITS + 1`.
 */
export class Dim {
  private constructor(
    /** monomial ('' for the constant, 'A*B' for a product of parameters) -> coefficient */
    private readonly terms: ReadonlyMap<string, number>,
    /** parameter values, for evaluation */
    private readonly env: ReadonlyMap<string, number>,
  ) {}

  static of(n: number): Dim {
    if (!Number.isSafeInteger(n)) throw new Error(`Dim must be an integer, got ${n}`);
    return new Dim(new Map(n === 0 ? [] : [['', n]]), new Map());
  }

  static param(name: string, value: number): Dim {
    if (!Number.isSafeInteger(value)) throw new Error(`parameter ${name} must be an integer, got ${value}`);
    return new Dim(new Map([[name, 1]]), new Map([[name, value]]));
  }

  static from(x: Dim | number): Dim {
    return typeof x === 'number' ? Dim.of(x) : x;
  }

  get value(): number {
    let v = 0;
    for (const [mono, coef] of this.terms) {
      let t = coef;
      if (mono !== '') for (const p of mono.split('*')) t *= this.env.get(p)!;
      v += t;
    }
    return v;
  }

  /** True when the text is a plain number (no parameter names). */
  get isLiteral(): boolean {
    return [...this.terms.keys()].every((k) => k === '');
  }

  private static merge(a: Dim, b: Dim, sign: number): Dim {
    const terms = new Map(a.terms);
    for (const [k, c] of b.terms) {
      const v = (terms.get(k) ?? 0) + sign * c;
      if (v === 0) terms.delete(k);
      else terms.set(k, v);
    }
    return new Dim(terms, new Map([...a.env, ...b.env]));
  }

  plus(o: Dim | number): Dim {
    return Dim.merge(this, Dim.from(o), 1);
  }

  minus(o: Dim | number): Dim {
    return Dim.merge(this, Dim.from(o), -1);
  }

  times(o: Dim | number): Dim {
    const d = Dim.from(o);
    const terms = new Map<string, number>();
    for (const [ka, ca] of this.terms) {
      for (const [kb, cb] of d.terms) {
        const k = [...ka.split('*'), ...kb.split('*')].filter((s) => s !== '').sort().join('*');
        const v = (terms.get(k) ?? 0) + ca * cb;
        if (v === 0) terms.delete(k);
        else terms.set(k, v);
      }
    }
    return new Dim(terms, new Map([...this.env, ...d.env]));
  }

  /** Verilog text: positive terms first (parameters, then the constant), then the negative ones. */
  get text(): string {
    const all = [...this.terms];
    const ordered = [
      ...all.filter(([k, c]) => k !== '' && c > 0),
      ...all.filter(([k, c]) => k === '' && c > 0),
      ...all.filter(([k, c]) => k !== '' && c < 0),
      ...all.filter(([k, c]) => k === '' && c < 0),
    ];
    const parts: string[] = [];
    for (const [mono, coef] of ordered) {
      const mag = Math.abs(coef);
      const body = mono === '' ? String(mag) : mag === 1 ? mono.split('*').join(' * ') : `${mag} * ${mono.split('*').join(' * ')}`;
      if (parts.length === 0) parts.push(coef < 0 ? `-${body}` : body);
      else parts.push(coef < 0 ? `- ${body}` : `+ ${body}`);
    }
    return parts.length === 0 ? '0' : parts.join(' ');
  }

  /** Text safe to embed in a larger expression (parenthesized when compound). */
  get atom(): string {
    const t = this.text;
    return /^[A-Za-z_0-9]+$/.test(t) ? t : `(${t})`;
  }

  toString(): string {
    return this.text;
  }
}
