import { Const, Expr, NamedConst, ParamConst, Signal, WidthError, describe } from './expr.ts';
import type { Fsm } from './fsm.ts';

/**
 * Combinational blocks: `always @(*)` with a default for every target first,
 * then `when / elsewhen / otherwise` (if / else if / else) and `case`
 * statements. Every target is set on every path (its default), so a block
 * never infers a latch; each target is a `logic` signal (declared `reg`)
 * driven by this block alone.
 */
export type Stmt =
  | { kind: 'set'; target: Signal; value: Expr }
  | { kind: 'if'; branches: { cond: Expr; body: Stmt[] }[]; otherwise: Stmt[] | null }
  | { kind: 'case'; subject: Expr; arms: { label: Expr; body: Stmt[] }[]; otherwise: Stmt[] }
  | { kind: 'comment'; text: string };

/** What each state does: `go(s)` moves to state s; `b` is the block, for `when` and `set`. */
export type FsmArms<S extends string> = Record<S, (go: (s: S) => void, b: CombBuilder) => void>;

/** An `always @(*)` block: the defaults, then the statements. */
export interface CombBlock {
  kind: 'comb';
  defaults: { target: Signal; value: Expr }[];
  body: Stmt[];
}

/** A register written through a next-state signal (OpenTitan style): `q <= d` on the clock edge. */
export interface Flop {
  /** the register, `<name>_q` */
  q: Signal;
  /** its next value, `<name>_d`: a `logic` signal set by a combinational block */
  d: Signal;
}

/** The continuation of `when`: further conditions, tried in order, and the fallback. */
export class When {
  constructor(
    private readonly b: CombBuilder,
    private readonly stmt: Extract<Stmt, { kind: 'if' }>,
    private readonly parent: Stmt[],
  ) {}

  /** `else if (cond)`: taken when no earlier condition of the chain holds. */
  elsewhen(cond: Expr, body: () => void): When {
    this.check('elsewhen');
    const branch = { cond: this.b.condition(cond), body: [] as Stmt[] };
    this.stmt.branches.push(branch);
    this.b.within(branch.body, body);
    return this;
  }

  /** `else`: taken when no condition of the chain holds. */
  otherwise(body: () => void): void {
    this.check('otherwise');
    this.stmt.otherwise = [];
    this.b.within(this.stmt.otherwise, body);
  }

  private check(what: string): void {
    if (this.stmt.otherwise) throw new WidthError(`${this.b.where}: ${what} after otherwise`);
    if (this.parent.at(-1) !== this.stmt) throw new WidthError(`${this.b.where}: ${what} must follow its when directly`);
  }
}

export class CombBuilder {
  private readonly defaults: { target: Signal; value: Expr }[] = [];
  private readonly top: Stmt[] = [];
  private cur: Stmt[] = this.top;

  /** @internal created by ScopeBuilder.comb */
  constructor(readonly where: string) {}

  /** The value `target` takes unless a statement below sets it; top level only, once per target. */
  default(target: Signal, value: Expr): void {
    if (this.cur !== this.top) throw new WidthError(`${this.where}: the default of ${target.name} must be given at the top of the block, not inside a condition`);
    if (target.kind !== 'logic') throw new WidthError(`${this.where}: ${target.name} is a ${target.kind}; a combinational block drives logic signals only`);
    if (this.defaults.some((d) => d.target === target)) throw new WidthError(`${this.where}: ${target.name} has two defaults`);
    this.checkWidth(target, value);
    this.defaults.push({ target, value });
  }

  /** Defaults for flops: each keeps its value (`d = q`) unless a statement sets it. */
  hold(...flops: Flop[]): void {
    for (const f of flops) this.default(f.d, f.q);
  }

  /** `target = value` on the current path; the target needs a default in this block. */
  set(target: Signal, value: Expr): void {
    if (!this.defaults.some((d) => d.target === target)) throw new WidthError(`${this.where}: ${target.name} is set without a default in this block (it would infer a latch)`);
    this.checkWidth(target, value);
    this.cur.push({ kind: 'set', target, value });
  }

  /** A comment line (or lines) among the statements. */
  comment(text: string): void {
    this.cur.push({ kind: 'comment', text });
  }

  /** `if (cond)`; chain `.elsewhen(...)` and `.otherwise(...)` for the other cases. */
  when(cond: Expr, body: () => void): When {
    const stmt: Extract<Stmt, { kind: 'if' }> = { kind: 'if', branches: [{ cond: this.condition(cond), body: [] }], otherwise: null };
    const parent = this.cur;
    parent.push(stmt);
    this.within(stmt.branches[0]!.body, body);
    return new When(this, stmt, parent);
  }

  /**
   * `case (subject)`: one arm per constant label (distinct, the subject's
   * width), and the arm taken for every other value.
   */
  caseOf(subject: Expr, arms: [label: Expr, body: () => void][], otherwise: () => void): void {
    const seen = new Set<string>();
    const stmt: Extract<Stmt, { kind: 'case' }> = { kind: 'case', subject, arms: [], otherwise: [] };
    this.cur.push(stmt);
    for (const [label, body] of arms) {
      if (!(label instanceof Const || label instanceof NamedConst || label instanceof ParamConst)) {
        throw new WidthError(`${this.where}: case label ${label.render()} is not a constant`);
      }
      if (label.width.value !== subject.width.value) throw new WidthError(`${this.where}: case label ${describe(label)} does not match ${describe(subject)}`);
      const v = label instanceof ParamConst ? String(label.param.value) : String(label.value);
      if (seen.has(v)) throw new WidthError(`${this.where}: case label ${label.render()} (${v}) appears twice`);
      seen.add(v);
      const arm = { label, body: [] as Stmt[] };
      stmt.arms.push(arm);
      this.within(arm.body, body);
    }
    this.within(stmt.otherwise, otherwise);
  }

  /**
   * The next state of `fsm`: `case (state_q)` with one arm per state, in the
   * order the states were declared; `go(s)` moves to state s, and a state
   * stays where it is unless its arm goes elsewhere. Unused codes return to
   * the reset state. Gives `state_d` its default (`state_q`) if it has none.
   */
  transitions<S extends string>(fsm: Fsm<S>, arms: FsmArms<S>): void {
    if (!this.defaults.some((d) => d.target === fsm.d)) this.default(fsm.d, fsm.q);
    const go = (s: S): void => this.set(fsm.d, fsm.code(s));
    const missing = fsm.states.filter((s) => !(s in arms));
    if (missing.length > 0) throw new WidthError(`${this.where}: state machine ${fsm.name} has no arm for ${missing.join(', ')}`);
    this.caseOf(
      fsm.q,
      fsm.states.map((s) => [fsm.code(s), () => arms[s](go, this)]),
      () => go(fsm.resetState),
    );
  }

  /** @internal */
  condition(cond: Expr): Expr {
    if (cond.width.value !== 1) throw new WidthError(`${this.where}: condition ${describe(cond)} must be 1 bit`);
    return cond;
  }

  /** @internal runs `fn` with statements going into `body` */
  within(body: Stmt[], fn: () => void): void {
    const saved = this.cur;
    this.cur = body;
    try {
      fn();
    } finally {
      this.cur = saved;
    }
  }

  private checkWidth(target: Signal, value: Expr): void {
    if (target.width.value !== value.width.value) throw new WidthError(`${this.where}: width mismatch: ${describe(target)} = ${describe(value)}`);
  }

  /** @internal */
  finish(): CombBlock {
    if (this.defaults.length === 0) throw new WidthError(`${this.where}: a combinational block needs at least one target`);
    return { kind: 'comb', defaults: this.defaults, body: this.top };
  }
}

/** Every expression a block reads: defaults, conditions, values, case subjects. */
export function combReads(block: CombBlock): Expr[] {
  const out: Expr[] = block.defaults.map((d) => d.value);
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.kind === 'set') out.push(s.value);
      else if (s.kind === 'if') {
        for (const b of s.branches) {
          out.push(b.cond);
          walk(b.body);
        }
        if (s.otherwise) walk(s.otherwise);
      } else if (s.kind === 'case') {
        out.push(s.subject);
        for (const a of s.arms) walk(a.body);
        walk(s.otherwise);
      }
    }
  };
  walk(block.body);
  return out;
}
