import { wrapSigned } from '../common/bits.ts';
import { PeModel, type PeInputs } from '../quant/hwmodel/pe.ts';
import type { CycleVector } from './cycle-harness.ts';

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
