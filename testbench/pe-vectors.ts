import { wrapSigned } from '../common/bits.ts';
import { PeModel, type PeInputs } from '../quant/hwmodel/pe.ts';
import type { CycleVector } from './cycle-harness.ts';
import { Rng } from './rng.ts';

export interface PeSweep {
  wbits: number;
  abits: number;
  accWidth: number;
}

/** One cycle of the sweep, with the operands it multiplies (for independent checks). */
export interface PeCycle extends CycleVector {
  /** the weight and activation whose product appears on prod_out after this cycle, if any */
  product?: { w: bigint; a: bigint };
}

/**
 * Every (weight, activation) pair of a b x a PE, streamed through the real
 * ports: reset, then for each weight a run over all activations. The next
 * weight is loaded into the shadow register during the current run and made
 * active on its last cycle (double buffering), and the partial-sum input cycles
 * through the accumulator's extremes (min, max, -1, 0, 1) and spread values,
 * so wrap-around is exercised. A reset in the middle checks that all state clears.
 */
export function peSweepVectors(c: PeSweep): PeCycle[] {
  const model = new PeModel(c);
  const cycles: PeCycle[] = [];
  const wMin = -(1n << BigInt(c.wbits - 1));
  const aMin = -(1n << BigInt(c.abits - 1));
  const accMax = (1n << BigInt(c.accWidth - 1)) - 1n;
  const psums = [-accMax - 1n, accMax, -1n, 0n, 1n, accMax / 3n, -accMax / 5n, 12345n % accMax];
  const weights = Array.from({ length: 1 << c.wbits }, (_, i) => wMin + BigInt(i));
  const acts = Array.from({ length: 1 << c.abits }, (_, i) => aMin + BigInt(i));

  const push = (inp: Partial<PeInputs>, product?: { w: bigint; a: bigint }): void => {
    const full: PeInputs = { rst_n: 1n, w_load: 0n, w_in: 0n, w_swap: 0n, a_in: 0n, psum_in: 0n, ...inp };
    const out = model.step(full);
    cycles.push({ inputs: { ...full }, expect: { ...out }, product });
  };

  push({ rst_n: 0n });
  push({ rst_n: 0n });
  push({ w_load: 1n, w_in: weights[0]! }); // preload the first weight
  push({ w_swap: 1n }); // make it active
  let n = 0;
  for (const [wi, w] of weights.entries()) {
    const next = weights[wi + 1];
    for (const [ai, a] of acts.entries()) {
      const last = ai === acts.length - 1;
      push(
        {
          a_in: a,
          psum_in: psums[n++ % psums.length]!,
          // load the next weight during this run, swap on the run's last cycle
          w_load: ai === 0 && next !== undefined ? 1n : 0n,
          w_in: ai === 0 && next !== undefined ? next : 0n,
          w_swap: last ? 1n : 0n,
        },
        { w, a },
      );
    }
  }
  push({}); // drain the last accumulation
  // A reset mid-stream clears everything; then one product proves recovery.
  push({ rst_n: 0n, a_in: aMin, psum_in: accMax });
  push({ w_load: 1n, w_in: wMin });
  push({ w_swap: 1n });
  push({ a_in: aMin }, { w: wMin, a: aMin });
  push({});
  return cycles;
}

/** Checks the model's prod_out against plain multiplication and psum_out against the add rule. */
export function checkPeCyclesIndependently(c: PeSweep, cycles: PeCycle[]): string[] {
  const errors: string[] = [];
  for (let t = 0; t < cycles.length; t++) {
    const cy = cycles[t]!;
    if (cy.product) {
      const want = cy.product.w * cy.product.a;
      if (cy.expect!.prod_out !== want) errors.push(`cycle ${t}: prod ${cy.expect!.prod_out} != ${cy.product.w}*${cy.product.a}`);
    }
    if (t > 0 && cy.inputs.rst_n === 1n && cycles[t - 1]!.inputs.rst_n === 1n) {
      const want = wrapSigned(cy.inputs.psum_in! + cycles[t - 1]!.expect!.prod_out!, c.accWidth);
      if (cy.expect!.psum_out !== want) errors.push(`cycle ${t}: psum ${cy.expect!.psum_out} != ${want}`);
    }
  }
  return errors;
}

export interface PeLaneStream extends PeSweep {
  laneWidth: number;
}

/**
 * A random stream for the PE whose addend is the ReCoN lane (addend = lane):
 * reset, then random activations, lane values and partial sums (the lane and
 * accumulator extremes among them), with weight loads and swaps at random
 * cycles and a reset in the middle. Golden outputs from the cycle model.
 */
export function peLaneVectors(c: PeLaneStream, cycles: number, seed: number): CycleVector[] {
  const model = new PeModel({ ...c, addend: 'lane' });
  const rng = new Rng(seed);
  const pick = (bits: number): bigint => {
    const max = (1n << BigInt(bits - 1)) - 1n;
    const r = rng.float();
    if (r < 0.1) return -max - 1n;
    if (r < 0.2) return max;
    return BigInt(rng.int(-Number(max) - 1, Number(max)));
  };
  const out: CycleVector[] = [];
  const push = (inp: Partial<PeInputs>): void => {
    const full: PeInputs = { rst_n: 1n, w_load: 0n, w_in: 0n, w_swap: 0n, a_in: 0n, psum_in: 0n, lane_in: 0n, ...inp };
    out.push({ inputs: { ...full }, expect: { ...model.step(full) } });
  };
  push({ rst_n: 0n, a_in: pick(c.abits), lane_in: pick(c.laneWidth), psum_in: pick(c.accWidth) });
  for (let t = 0; t < cycles; t++) {
    const load = rng.float() < 0.2;
    push({
      rst_n: t === Math.floor(cycles / 2) ? 0n : 1n,
      w_load: load ? 1n : 0n,
      w_in: load ? pick(c.wbits) : 0n,
      w_swap: rng.float() < 0.15 ? 1n : 0n,
      a_in: pick(c.abits),
      lane_in: pick(c.laneWidth),
      psum_in: pick(c.accWidth),
    });
  }
  return out;
}

/**
 * Checks the lane PE's golden psum_out against the rule psum_out(t) =
 * psum_in(t) + lane_in(t - 1), wrapped (outputs after the edge of cycle t):
 * the lane value waits one cycle in lane_q.
 */
export function checkLaneCyclesIndependently(c: PeLaneStream, cycles: CycleVector[]): string[] {
  const errors: string[] = [];
  for (let t = 1; t < cycles.length; t++) {
    if (cycles[t]!.inputs.rst_n === 0n || cycles[t - 1]!.inputs.rst_n === 0n) continue;
    const want = wrapSigned(cycles[t]!.inputs.psum_in! + wrapSigned(cycles[t - 1]!.inputs.lane_in!, c.laneWidth), c.accWidth);
    if (cycles[t]!.expect!.psum_out !== want) errors.push(`cycle ${t}: psum ${cycles[t]!.expect!.psum_out} != ${want}`);
  }
  return errors;
}
