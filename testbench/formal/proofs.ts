/**
 * The registry of formal proofs (`msq formal`, `npm run formal`;
 * docs/VERIFICATION.md). Each proof builds its RTL (the block, and a harness
 * around it when it has one) and names its checks: the block's own `ifdef
 * FORMAL` properties on the block alone (BMC and k-induction), the harness's
 * protocol properties (BMC to a stated depth) and covers. Add a proof by adding
 * an entry here.
 */
import { renderModule } from '../../generator/dsl/render.ts';
import { aloneHarness, renderHarness } from './harness.ts';
import { FIFO_PROOF_CONFIG, fifoHarness, fifoProofDut } from './fifo-proof.ts';
import { CONTROLLER_PROOF_CONFIG, controllerHarness, controllerProofDut } from './controller-proof.ts';
import type { FormalJob } from './run.ts';

export interface FormalProof {
  name: string;
  /** what it proves, on which configuration */
  what: string;
  build(): FormalJob;
}

/** The controller's bounds: a refused problem ends after the 4-cycle K check; a finished one needs its loads and beats. */
const CONTROLLER_BMC_DEPTH = 24;
const CONTROLLER_COVER_DEPTH = 40;

export const FORMAL_PROOFS: readonly FormalProof[] = [
  {
    name: 'fifo',
    what: `FIFO ${FIFO_PROOF_CONFIG.width} bits x ${FIFO_PROOF_CONFIG.depth}: occupancy invariant by k-induction; no beat lost, duplicated or reordered and the valid/ready rules to depth 14 (three and a half times through the entries)`,
    build() {
      const dut = fifoProofDut();
      const h = fifoHarness(dut, FIFO_PROOF_CONFIG);
      const alone = aloneHarness(dut);
      return {
        name: 'fifo',
        files: [
          { path: `${dut.name}.v`, text: renderModule(dut) },
          { path: `${alone.name}.v`, text: renderHarness(alone) },
          { path: `${h.name}.v`, text: renderHarness(h) },
        ],
        checks: [
          { kind: 'bmc', top: alone.name, depth: 8 },
          { kind: 'induction', top: alone.name, depth: 2 },
          { kind: 'bmc', top: h.name, depth: 14 },
          { kind: 'cover', top: h.name, depth: 14 },
        ],
      };
    },
  },
  {
    name: 'controller',
    what: `controller ${CONTROLLER_PROOF_CONFIG.rows}x${CONTROLLER_PROOF_CONFIG.cols}, G = ${CONTROLLER_PROOF_CONFIG.group}, D = ${CONTROLLER_PROOF_CONFIG.depth}, revisit gap ${CONTROLLER_PROOF_CONFIG.revisitGap}, ${CONTROLLER_PROOF_CONFIG.dimBits}-bit dimensions, every input free: one done per start, status consistent, refused problems stream nothing, to depth ${CONTROLLER_BMC_DEPTH}`,
    build() {
      const dut = controllerProofDut();
      const h = controllerHarness(dut, CONTROLLER_PROOF_CONFIG);
      return {
        name: 'controller',
        files: [
          { path: `${dut.name}.v`, text: renderModule(dut) },
          { path: `${h.name}.v`, text: renderHarness(h) },
        ],
        checks: [
          { kind: 'bmc', top: h.name, depth: CONTROLLER_BMC_DEPTH },
          { kind: 'cover', top: h.name, depth: CONTROLLER_COVER_DEPTH },
        ],
      };
    },
  },
];

export function formalProof(name: string): FormalProof {
  const p = FORMAL_PROOFS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown proof ${name}`);
  return p;
}
