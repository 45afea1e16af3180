import type { Dim } from '../dsl/dim.ts';
import { Const, ParamConst, mux, type Expr, type NamedConst, type Signal } from '../dsl/expr.ts';
import type { LValue, ScopeBuilder } from '../dsl/module.ts';

export interface LaneFlags {
  isInlier: Signal;
  isOutlier: Signal;
}

/** Decodes a lane's 2-bit mode field against the module's mode constants. Code 3 is reserved and acts as pruned. */
export function laneFlags(scope: ScopeBuilder, mode: Expr, modes: { inlier: NamedConst; outlier: NamedConst }): LaneFlags {
  return {
    isInlier: scope.let('is_inlier', mode.eq(modes.inlier)),
    isOutlier: scope.let('is_outlier', mode.eq(modes.outlier)),
  };
}

/**
 * The output stage every ReCoN lane shares (both topologies): sign-extend the
 * lane's value to the lane width, then
 *   inlier  -> value << F       (own product, F guard bits)
 *   outlier -> value << shift   (merged (hi << L) + lo; shift includes F)
 *   pruned or reserved mode -> 0
 */
export function laneOutput(scope: ScopeBuilder, out: LValue, value: Expr, flags: LaneFlags, shift: Expr, guardBits: Dim): void {
  const amount = scope.let('amount', mux(flags.isInlier, new ParamConst(guardBits, shift.width), shift), 'left shift of this lane');
  const shifted = scope.let('shifted', value.sext(out.width).shl(amount));
  scope.assign(out, mux(flags.isInlier.or(flags.isOutlier), shifted, Const.zero(out.width, true)).asUnsigned());
}
