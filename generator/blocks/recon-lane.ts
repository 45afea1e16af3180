import type { Dim } from '../dsl/dim.ts';
import { Const, ParamConst, mux, type Expr, type NamedConst, type Signal } from '../dsl/expr.ts';
import type { LValue, ScopeBuilder } from '../dsl/module.ts';
import type { ReconConfig } from './recon-config.ts';

/**
 * How a ReCoN network is built, beyond its ReconConfig: `pipelined` adds the
 * network's register stage(s) (and clk / rst_n ports), so that no path through
 * it is longer than about one multiplier. Each network says where its registers
 * are; its lanes are then those of the combinational network, `reconNetworkLatency`
 * cycles later, for settings that change with the products they apply to (the
 * registers carry the settings the later part needs along with the values).
 * Without it (the default, what the network tests build) the network is
 * combinational.
 */
export interface ReconNetworkConfig extends ReconConfig {
  pipelined?: boolean;
}

export function isPipelined(c: ReconConfig): boolean {
  return (c as ReconNetworkConfig).pipelined === true;
}

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

/**
 * The same output stage from a lane's decoded controls (pipelined networks
 * decode them once, when the settings become active): keep = inlier or
 * outlier, amount = F for an inlier, else the lane's shift.
 */
export function laneControls(mode: Expr, shift: Expr, modes: { inlier: NamedConst; outlier: NamedConst }, guardBits: Dim): { keep: Expr; amount: Expr } {
  const isInlier = mode.eq(modes.inlier);
  return { keep: isInlier.or(mode.eq(modes.outlier)), amount: mux(isInlier, new ParamConst(guardBits, shift.width), shift) };
}

export function laneShift(scope: ScopeBuilder, out: LValue, value: Expr, keep: Expr, amount: Expr): void {
  const shifted = scope.let('shifted', value.sext(out.width).shl(amount));
  scope.assign(out, mux(keep, shifted, Const.zero(out.width, true)).asUnsigned());
}
