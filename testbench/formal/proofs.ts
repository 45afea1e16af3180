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
import type { FifoConfig } from '../../generator/blocks/fifo.ts';
import { skidBuffer, SKID_BUFFER_DEPTH } from '../../generator/blocks/skid-buffer.ts';
import type { ModuleDef } from '../../generator/dsl/module.ts';

export interface FormalProof {
  name: string;
  /** what it proves, on which configuration */
  what: string;
  build(): FormalJob;
}

/** The controller's bounds: a refused problem ends after the 4-cycle K check; a finished one needs its loads and beats. */
const CONTROLLER_BMC_DEPTH = 24;
const CONTROLLER_COVER_DEPTH = 40;

/**
 * A stream buffer's proof (the FIFO, the skid buffer: the same ports): the
 * block's own invariant on the block alone by k-induction; no
 * beat lost, duplicated or reordered and the valid/ready rules in the harness to
 * three and a half times through the entries (depth 14 for 4 entries).
 */
function fifoProof(name: string, c: FifoConfig, role: string, makeDut: (c: FifoConfig) => ModuleDef = fifoProofDut): FormalProof {
  const depth = Math.max(14, Math.ceil(3.5 * c.depth));
  return {
    name,
    what: `${role}, ${c.width} bits x ${c.depth}: its own invariant by k-induction; no beat lost, duplicated or reordered and the valid/ready rules to depth ${depth}`,
    build() {
      const dut = makeDut(c);
      const h = fifoHarness(dut, c);
      const alone = aloneHarness(dut);
      return {
        name,
        files: [
          { path: `${dut.name}.v`, text: renderModule(dut) },
          { path: `${alone.name}.v`, text: renderHarness(alone) },
          { path: `${h.name}.v`, text: renderHarness(h) },
        ],
        checks: [
          { kind: 'bmc', top: alone.name, depth: 8 },
          { kind: 'induction', top: alone.name, depth: 2 },
          { kind: 'bmc', top: h.name, depth },
          { kind: 'cover', top: h.name, depth },
        ],
      };
    },
  };
}

export const FORMAL_PROOFS: readonly FormalProof[] = [
  fifoProof('fifo', FIFO_PROOF_CONFIG, 'the FIFO'),
  fifoProof(
    'skid',
    { width: FIFO_PROOF_CONFIG.width, depth: SKID_BUFFER_DEPTH },
    "the skid buffer (the accelerator's activation input stage; its data width does not change the control)",
    (c) => skidBuffer({ width: c.width }),
  ),
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
