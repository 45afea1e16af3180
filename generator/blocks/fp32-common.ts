import { lit, concat, mux, type Expr, type Signal } from '../dsl/expr.ts';
import type { ModuleBuilder, ScopeBuilder } from '../dsl/module.ts';
import { Layout } from '../dsl/struct.ts';

/**
 * Building blocks shared by the FP32 units (int-to-fp32.ts, fp32-add.ts) and
 * the post-array unit: the stages of a pipelined unit and their registers,
 * sticky folding, round-to-nearest-even plus IEEE-754 binary32 packing,
 * leading-zero trees (also limited by a stop bit), and Kogge-Stone prefix
 * adders and ORs. They add named wires and registers to the caller's module
 * (or generate scope).
 *
 * The prefix forms are written out because the sign-off synthesis (Yosys,
 * then ABC on the flattened block) maps a plain `+` as a Brent-Kung tree that
 * it then turns into carry chains on large designs; the pipeline stages are
 * sized for the short forms.
 */

/** IEEE-754 binary32 constants (magnitude bits, sign excluded). */
export const FP32_INF_MAG = 0x7f800000n;
export const FP32_QNAN = 0x7fc00000n;

/** An IEEE-754 binary32 value: fraction in the LSBs, biased exponent, sign in bit 31. */
export const FP32_LAYOUT = new Layout<'frac' | 'exp' | 'sign'>('binary32', [
  { name: 'frac', width: 23, doc: 'fraction' },
  { name: 'exp', width: 8, doc: 'biased exponent' },
  { name: 'sign', width: 1 },
]);

/**
 * Why the fp32 units have no reset: their stage registers carry no valid bit
 * (the user carries the valid bits beside them and resets those), so nothing
 * in them needs a known value; without a reset input the unit is smaller and
 * reset does not fan out into every unit instance.
 */
export const UNIT_RESET_NOTE =
  'No reset: the stage registers carry no valid bit (the user keeps the valid bits beside the unit and resets\n' +
  'those), so a stage holds whatever entered it; a result is defined once its operands were.';

/**
 * A stage register `<name>_q`: loads `e` on every rising clock edge (no reset:
 * the pipelines carry no valid bit, their users do).
 * The boundary between two pipeline stages of a unit.
 */
export function stageReg(m: ModuleBuilder, name: string, e: Expr, doc: string): Signal {
  const q = m.reg(`${name}_q`, e.width, { signed: e.signed, doc });
  m.update(q, e);
  return q;
}

/** A step of a unit's datapath: an id (for the stage split) and what it does (for the stage comments). */
export interface StepSpec<S extends string = string> {
  id: S;
  title: string;
}

/**
 * The module-name suffix of a stage split: `_c` and one bit per step (1: a stage ends
 * after it), or '' for the unit's default split, whatever order the cuts are listed in.
 */
export function stageSplitSuffix<S extends string>(steps: readonly StepSpec<S>[], cuts: readonly S[] | undefined, defaults: readonly S[]): string {
  const bits = (c: readonly S[]) => steps.map((st) => (c.includes(st.id) ? '1' : '0')).join('');
  return cuts && bits(cuts) !== bits(defaults) ? `_c${bits(cuts)}` : '';
}

/**
 * The stages of a pipelined unit: its steps in order, and the steps after
 * which a stage ends (`cuts`). `step(id, body)` runs the step's logic; the
 * first step of a stage emits the stage's section comment, and a step
 * followed by a cut registers every signal it returns as `s<k>_<name>_q`
 * (stage k's registers), which the next step receives instead. A step
 * returns everything later steps need, so what crosses a stage boundary is
 * exactly what is registered.
 */
export class Stages<S extends string> {
  private stage = 1;
  private next = 0;

  constructor(
    private readonly m: ModuleBuilder,
    private readonly steps: readonly StepSpec<S>[],
    private readonly cuts: ReadonlySet<S>,
  ) {
    for (const c of cuts) if (!steps.some((st) => st.id === c)) throw new Error(`stage cut after unknown step ${c}`);
    if (cuts.has(steps.at(-1)!.id)) throw new Error(`no cut after the last step ${steps.at(-1)!.id}`);
  }

  /** Stages: the cuts plus one. */
  get count(): number {
    return this.cuts.size + 1;
  }

  /** The titles of the steps of each stage, in order. */
  titles(): string[][] {
    const out: string[][] = [[]];
    for (const st of this.steps) {
      out.at(-1)!.push(st.title);
      if (this.cuts.has(st.id)) out.push([]);
    }
    return out;
  }

  step<T extends Record<string, Signal>>(id: S, body: () => T): T {
    const spec = this.steps[this.next];
    if (!spec || spec.id !== id) throw new Error(`step ${id} out of order (expected ${spec?.id ?? 'none'})`);
    if (this.next === 0 || this.cuts.has(this.steps[this.next - 1]!.id)) {
      this.m.comment(`---- stage ${this.stage}: ${this.titles()[this.stage - 1]!.join('; ')} ----`);
    }
    this.next++;
    const live = body();
    if (!this.cuts.has(id)) return live;
    const k = this.stage++;
    const out: Record<string, Signal> = {};
    for (const [name, sig] of Object.entries(live)) {
      // a value carried on through several stages keeps its own description, not the earlier stages' prefixes
      const what = (sig.comment ?? name).replace(/^(stage \d+ -> \d+: )+/, '');
      out[name] = stageReg(this.m, `s${k}_${name}`, sig, `stage ${k} -> ${k + 1}: ${what}`);
    }
    return out as T;
  }
}

/**
 * `value` with its bits below `keep` folded into one sticky bit: the top
 * `keep` bits, then the OR of the rest (what rounding needs of a significand).
 */
export function foldSticky(m: ScopeBuilder, name: string, value: Signal, keep: number, doc: string): Signal {
  const w = value.width.value;
  if (keep < 1 || keep >= w) throw new Error(`foldSticky: keep ${keep} of ${w} bits`);
  if (keep === w - 1) return value;
  return m.let(name, concat(value.slice(w - keep, keep), value.slice(0, w - keep).any()), doc);
}

export interface RoundPackInputs {
  sign: Expr;
  /**
   * 8 bits: the exponent field minus the significand's top (hidden) bit. For a
   * normal result the hidden bit is 1 and the field is eBase + 1; for a
   * subnormal eBase = 0 and the hidden bit 0. Adding the significand into
   * {eBase, 23'b0} therefore yields the field directly, and a rounding carry
   * out of the fraction increments the exponent (subnormal -> smallest normal,
   * largest finite -> exponent 255 = overflow) with no extra logic.
   */
  eBase: Expr;
  /**
   * The significand, aligned: bits [W-1 : W-24] are the 24 kept bits (hidden
   * bit first), bit W-25 the guard (round) bit, and all lower bits are ORed into
   * the sticky bit. W >= 26.
   */
  sig: Signal;
  /** force +-Inf regardless of the rounded value (an exponent already out of range) */
  forceOverflow?: Expr;
}

/**
 * Round to nearest even and pack sign | exponent | fraction. Overflow (a field
 * of 255 or more after rounding, or `forceOverflow`) gives +-Inf. Returns the
 * 32-bit result expression; zeros, NaN and Inf inputs are the caller's business.
 *
 * The rounding increment is not a carry chain after the decision: the
 * fraction plus one and the exponent field with and without the carry out of
 * the fraction are computed beside the decision, which then only selects
 * (the carry out is `up` with an all-ones fraction). Same result as adding
 * `up` to {eBase, 23'b0} + kept, with a field of 255 or more giving +-Inf.
 */
export function roundPackFp32(m: ScopeBuilder, p: RoundPackInputs): Expr {
  const w = p.sig.width.value;
  if (w < 26) throw new Error(`roundPackFp32: significand must have at least 26 bits, got ${w}`);
  if (p.eBase.width.value !== 8) throw new Error(`roundPackFp32: eBase must be 8 bits, got ${p.eBase.width.value}`);
  const hidden = p.sig.bit(w - 1);
  const frac = p.sig.slice(w - 24, 23);
  const lsb = p.sig.bit(w - 24);
  const guard = m.let('rnd_guard', p.sig.bit(w - 25), 'first dropped bit: half an ulp');
  const sticky = m.let('rnd_sticky', p.sig.slice(0, w - 25).any(), 'any lower dropped bit');
  const up = m.let('rnd_up', guard.and(sticky.or(lsb)), 'round to nearest, ties to even');
  const fracUp = m.let('rnd_frac_up', frac.zext(24).plus(lit(1, 24)), 'the fraction plus one ulp, its carry out in bit 23');
  const field = m.let('rnd_field', p.eBase.plus(hidden.zext(8)), 'exponent field of the unrounded value: eBase + hidden bit');
  const fieldUp = m.let('rnd_field_up', field.plus(lit(1, 8)), 'exponent field after a carry out of the fraction');
  const carry = m.let('rnd_carry', up.and(fracUp.bit(23)), 'rounding up carries out of the fraction (which becomes 0)');
  m.comment(
    'Overflow to +-Inf: the field reaches 255, i.e. eBase + hidden >= 255 (known before rounding), or >= 254 with the\n' +
      'carry; then fieldUp is 255 itself and the fraction 0. So only the early overflow selects Inf.',
  );
  const e255 = m.let('rnd_e255', p.eBase.eq(lit(255, 8)));
  const e254 = m.let('rnd_e254', p.eBase.eq(lit(254, 8)));
  const ovfEarly = e255.or(e254.and(hidden));
  const ovf = m.let('rnd_overflow', p.forceOverflow ? p.forceOverflow.or(ovfEarly) : ovfEarly, 'too large before rounding: +-Inf');
  const fieldOut = m.let('rnd_field_out', mux(ovf, lit(255, 8), mux(carry, fieldUp, field)), 'exponent field after rounding (255: Inf)');
  const fracOut = m.let('rnd_frac', mux(ovf, lit(0, 23), mux(up, fracUp.slice(0, 23), frac)), 'fraction after rounding (0: Inf)');
  return concat(p.sign, fieldOut, fracOut);
}

/**
 * Leading zeros of `x` (unsigned, W bits) followed by a one, i.e. of {x, 1}
 * (a zero x counts W), as a binary tree: ceil(log2(W + 1)) bits. {x, 1} is
 * padded with ones below to 2^k bits. Each node covers a power-of-two run of
 * bits: whether it has a one (`v`) and its leading zeros (`z`); a parent takes
 * the high child's count when that child has a one, else the low child's with
 * the top bit set. log2 levels of 2:1 multiplexers, no priority chain. Wires
 * `<prefix>_z<l>_<i>` (and `<prefix>_v<l>_<i>` of the high children): node i
 * (from the least significant) of level l (runs of 2^l bits).
 */
export function leadingZeros(m: ScopeBuilder, prefix: string, x: Signal): Signal {
  const w = x.width.value;
  const k = Math.max(1, Math.ceil(Math.log2(w + 1)));
  const padded = 2 ** k;
  // (a 1-bit wire is a scalar in the RTL: no bit select)
  const bit = (j: number): Expr => (j < padded - w ? lit(1, 1) : w === 1 ? x : x.bit(j - (padded - w)));
  // level 1: pairs of bits, the most significant first
  let nodes: { v: Expr; z: Expr }[] = [];
  for (let i = padded / 2 - 1; i >= 0; i--) {
    const hi = bit(2 * i + 1);
    nodes.push({ v: hi.or(bit(2 * i)), z: hi.not() });
  }
  for (let level = 1; nodes.length > 1; level++) {
    const next: { v: Expr; z: Expr }[] = [];
    const n = nodes.length;
    for (let i = 0; i < n; i += 2) {
      const h = nodes[i]!;
      const l = nodes[i + 1]!;
      const hv = m.let(`${prefix}_v${level}_${n - 1 - i}`, h.v);
      const hz = m.let(`${prefix}_z${level}_${n - 1 - i}`, h.z);
      const lz = m.let(`${prefix}_z${level}_${n - 2 - i}`, l.z);
      // a node's "has a one" selects when it is a high child; a low child's only feeds its parent's
      next.push({ v: hv.or(l.v), z: mux(hv, concat(lit(0, 1), hz), concat(lit(1, 1), lz)) });
    }
    nodes = next;
  }
  return m.let(prefix, nodes[0]!.z, `leading zeros of ${x.name} (${w} for zero)`);
}

/**
 * The stop bit of a leading-zero count limited to `limit` over a W-bit vector
 * (bits W-1 .. 1: bit 0 never changes the count): a one at bit W-1-limit,
 * none when limit >= W - 1. ORed into the vector, it stops the count there.
 */
export function stopBit(m: ScopeBuilder, name: string, w: number, limit: Expr, doc: string): Signal {
  if (w < 2) throw new Error(`stopBit: ${w}-bit vector`);
  return m.let(name, lit(1n << BigInt(w - 2), w - 1).shr(limit), doc);
}

/**
 * min(leading zeros of x, limit) (x nonzero; a zero x counts min(W - 1, limit)
 * or W - 1): the stop bit (`stopBit`, or one computed from `limit` here) ORed
 * into x stops the count at the limit, so the count is one leading-zero tree
 * with no comparison after it. The stop bit only steers the count: the caller
 * shifts x itself. Bit 0 of x never changes the count, so it is left out.
 */
export function limitedLeadingZeros(m: ScopeBuilder, prefix: string, x: Signal, limit: Expr | { stop: Signal }): Signal {
  const w = x.width.value;
  if (w < 2) throw new Error(`limitedLeadingZeros: ${w}-bit vector`);
  const stop = 'stop' in limit ? limit.stop : stopBit(m, `${prefix}_stop`, w, limit, `a one at bit ${w - 1} - limit of ${x.name} (bits ${w - 1}..1): the count stops there`);
  const xs = m.let(`${prefix}_x`, x.slice(1, w - 1).or(stop), `${x.name}[${w - 1}:1] with the stop bit`);
  return leadingZeros(m, prefix, xs);
}

/**
 * How the wide adders of the arithmetic blocks (the post-array unit's integer
 * accumulation, the fp32 adder's significand add and reverse subtraction) are
 * built; the results are the same bits either way.
 *  - `prefix`: Kogge-Stone (prefixAdd below), for standard cells: log-depth
 *    carries, the depth the 4 ns stages are sized for.
 *  - `carry`: the plain `+`, which FPGA synthesis maps onto the device's carry
 *    chain (iCE40 SB_CARRY); there a prefix network costs LUT levels and
 *    routing, and LUT mapping's area recovery turns it into a ripple of LUTs.
 */
export const ADDER_STYLES = ['prefix', 'carry'] as const;
export type AdderStyle = (typeof ADDER_STYLES)[number];
export const DEFAULT_ADDER_STYLE: AdderStyle = 'prefix';

/** Module-name suffix of a non-default adder style ('' for prefix). */
export function adderStyleSuffix(style: AdderStyle | undefined): string {
  return (style ?? DEFAULT_ADDER_STYLE) === DEFAULT_ADDER_STYLE ? '' : `_${style}`;
}

/** a + b + cin (W bits, the carry out dropped) in the given style: prefixAdd, or a plain `+`. */
export function styledAdd(m: ScopeBuilder, style: AdderStyle, prefix: string, a: Signal, b: Signal, cin?: Expr): Signal {
  if (style === 'prefix') return prefixAdd(m, prefix, a, b, cin);
  const sum = a.plus(b);
  return m.let(prefix, cin ? sum.plus(cin.zext(a.width)) : sum, 'the sum (a carry chain on FPGAs)');
}

/**
 * The sum from generate (bits 0 .. W-2) and propagate (W bits) vectors in the
 * given style: prefixSum, or prop + (gen << 1) + cin with a plain `+` (a + b
 * = (a ^ b) + 2 (a & b)).
 */
export function styledSum(m: ScopeBuilder, style: AdderStyle, prefix: string, gen: Signal, prop: Signal, cin?: Expr): Signal {
  if (style === 'prefix') return prefixSum(m, prefix, gen, prop, cin);
  const sum = prop.plus(concat(gen, lit(0, 1)));
  return m.let(prefix, cin ? sum.plus(cin.zext(prop.width)) : sum, 'the sum (a carry chain on FPGAs)');
}

/**
 * a + b + cin (W bits, the carry out dropped) as a Kogge-Stone parallel-prefix
 * adder: generate/propagate vectors combined over log2(W) levels, each level
 * one AND-OR per bit. A plain `+` is mapped by Yosys as a Brent-Kung tree
 * (about twice the levels) that the sign-off's logic synthesis then turns into
 * carry chains on large designs; this form keeps the short carry paths the
 * pipeline stages are sized for. Wires `<prefix>_g<k>`, `<prefix>_p<k>`.
 */
export function prefixAdd(m: ScopeBuilder, prefix: string, a: Signal, b: Signal, cin?: Expr): Signal {
  const w = a.width.value;
  if (b.width.value !== w || a.signed || b.signed) throw new Error(`prefixAdd: unsigned operands of one width, got ${w} and ${b.width.value} bits`);
  const p0 = m.let(`${prefix}_p0`, a.xor(b), 'propagate: a ^ b (the sum without carries)');
  if (w === 1) return m.let(prefix, p0.xor(cin ?? lit(0, 1)), 'the sum');
  const gen = m.let(`${prefix}_gen`, a.slice(0, w - 1).and(b.slice(0, w - 1)), `generate: a & b, bits 0 .. ${w - 2}`);
  return prefixSum(m, prefix, gen, p0, cin);
}

/**
 * The sum of a prefix adder from its generate (a & b, bits 0 .. W-2: the
 * carry out is dropped) and propagate (a ^ b, W bits) vectors, which an
 * earlier pipeline stage may compute: the Kogge-Stone carries, then one XOR.
 */
export function prefixSum(m: ScopeBuilder, prefix: string, gen: Signal, prop: Signal, cin?: Expr): Signal {
  const w = prop.width.value;
  const n = w - 1;
  if (gen.width.value !== n) throw new Error(`prefixSum: ${gen.width.value} generate bits for a ${w}-bit sum`);
  const c0 = cin ?? lit(0, 1);
  const withCin = cin ? gen.or(n > 1 ? concat(lit(0, n - 1), prop.bit(0).and(cin)) : prop.bit(0).and(cin)) : gen;
  let g = m.let(`${prefix}_g0`, withCin, `generate of bits 0 .. ${n - 1}${cin ? ', the carry-in into bit 0' : ''}`);
  let p = m.let(`${prefix}_pp0`, prop.slice(0, n), `propagate of bits 0 .. ${n - 1}`);
  for (let k = 1, d = 1; d < n; k++, d *= 2) {
    const gShift = concat(g.slice(0, n - d), lit(0, d));
    const ng = m.let(`${prefix}_g${k}`, g.or(p.and(gShift)), `carries out of runs of ${2 * d} bits`);
    if (2 * d < n) p = m.let(`${prefix}_p${k}`, p.and(concat(p.slice(0, n - d), lit(0, d))), `runs of ${2 * d} bits that propagate`);
    g = ng;
  }
  return m.let(prefix, prop.xor(concat(g, c0)), 'the sum');
}
