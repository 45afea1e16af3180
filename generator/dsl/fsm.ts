import type { Expr, NamedConst, Signal } from './expr.ts';
import type { CombBuilder, FsmArms } from './comb.ts';

/**
 * A state machine declared with `ModuleBuilder.fsm`: one `localparam` per
 * state (codes 0, 1, ... in declaration order), the state register
 * `<name>_q` (reset to the reset state) and its next state `<name>_d`.
 * Give the transitions once, with `next` (a block of their own) or with
 * `CombBuilder.transitions` inside a block that also sets other signals.
 */
export class Fsm<S extends string> {
  /** @internal created by ModuleBuilder.fsm */
  constructor(
    readonly name: string,
    readonly states: readonly S[],
    private readonly codes: ReadonlyMap<S, NamedConst>,
    readonly resetState: S,
    /** the state register */
    readonly q: Signal,
    /** the next state (a logic signal) */
    readonly d: Signal,
    private readonly block: (body: (b: CombBuilder) => void) => void,
  ) {}

  /** The code of state `s`: its localparam. */
  code(s: S): NamedConst {
    const c = this.codes.get(s);
    if (!c) throw new Error(`state machine ${this.name} has no state ${s}`);
    return c;
  }

  /** 1 while the machine is in state `s`: `<name>_q == S`. */
  is(s: S): Expr {
    return this.q.eq(this.code(s));
  }

  /** The transitions as their own combinational block (see `CombBuilder.transitions`). */
  next(arms: FsmArms<S>): void {
    this.block((b) => b.transitions(this, arms));
  }
}
