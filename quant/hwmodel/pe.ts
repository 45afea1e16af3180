/**
 * Cycle-accurate reference model of the PE (generator/blocks/pe.ts), used to
 * produce the golden outputs its testbenches compare against. Values are
 * BigInt two's complement, wrapped to the register widths.
 */
import { wrapSigned } from '../../common/bits.ts';

export interface PeModelConfig {
  wbits: number;
  abits: number;
  accWidth: number;
  /**
   * What the PE accumulates (PeConfig.addend): its own product (`self`,
   * default) or lane_in, registered first (`lane`, lane width laneWidth).
   */
  addend?: 'self' | 'lane';
  laneWidth?: number;
}

export interface PeInputs {
  rst_n: bigint;
  w_load: bigint;
  w_in: bigint;
  w_swap: bigint;
  a_in: bigint;
  psum_in: bigint;
  /** addend = lane only */
  lane_in?: bigint;
}

export interface PeOutputs {
  prod_out: bigint;
  psum_out: bigint;
}

export class PeModel {
  private wShadow = 0n;
  private wActive = 0n;
  private prodQ = 0n;
  private laneQ = 0n;
  private psumQ = 0n;

  constructor(private readonly c: PeModelConfig) {
    if (c.addend === 'lane' && c.laneWidth === undefined) throw new Error('internal: a lane PE model needs laneWidth');
  }

  /** One rising clock edge with `inp` applied; returns the outputs after the edge. */
  step(inp: PeInputs): PeOutputs {
    const { wbits, abits, accWidth } = this.c;
    const lane = this.c.addend === 'lane';
    if (inp.rst_n === 0n) {
      this.wShadow = this.wActive = this.prodQ = this.laneQ = this.psumQ = 0n;
    } else {
      // all registers sample their inputs at the same edge
      const nextShadow = inp.w_load ? wrapSigned(inp.w_in, wbits) : this.wShadow;
      const nextActive = inp.w_swap ? this.wShadow : this.wActive;
      const nextProd = wrapSigned(this.wActive * wrapSigned(inp.a_in, abits), wbits + abits);
      const nextLane = lane ? wrapSigned(inp.lane_in ?? 0n, this.c.laneWidth!) : 0n;
      const nextPsum = wrapSigned(wrapSigned(inp.psum_in, accWidth) + (lane ? this.laneQ : this.prodQ), accWidth);
      this.wShadow = nextShadow;
      this.wActive = nextActive;
      this.prodQ = nextProd;
      this.laneQ = nextLane;
      this.psumQ = nextPsum;
    }
    return { prod_out: this.prodQ, psum_out: this.psumQ };
  }
}
