import { describe, expect, it } from 'vitest';
import { InputError } from '../common/errors.ts';
import { RECON_TOPOLOGY_BLOCKS } from '../generator/blocks/recon-topologies.ts';
import { resolveDecode } from '../quant/hwmodel/decode.ts';
import { reconLanesIdeal, type ReconParams } from '../quant/hwmodel/recon.ts';
import {
  DEFAULT_RECON_TOPOLOGY, RECON_TOPOLOGY_MODELS, RECON_TOPOLOGY_NAMES, reconTopologyByHeaderId, reconTopologyBySpecTag, reconTopologyModel,
} from '../quant/hwmodel/recon-topologies.ts';
import { resolveConfig } from '../quant/microscopiq/config.ts';
import { PairingSolver, isRoutable } from '../quant/microscopiq/pairing.ts';
import { legalPairings, randomProduct, settingsForPairing } from '../testbench/recon-vectors.ts';
import { Rng } from '../testbench/rng.ts';

const LANES = [4, 8, 16] as const;

describe('ReCoN topology registry (numerics)', () => {
  it('refuses an unknown topology with the list of records', () => {
    const msg = `--recon mesh is not supported: allowed values are ${RECON_TOPOLOGY_NAMES.join(', ')}`;
    expect(msg).toBe('--recon mesh is not supported: allowed values are crossbar, butterfly');
    for (const f of [
      () => reconTopologyModel('mesh'),
      () => resolveConfig({ recon: 'mesh' as never }),
      () => resolveDecode({ rows: 2, cols: 8, wbits: 4, ublock: 8, topology: 'mesh' as never, outliers: true }),
      () => isRoutable([], 8, 'mesh' as never),
      () => new PairingSolver(8, 'mesh' as never),
    ]) {
      expect(f).toThrow(InputError);
      expect(f).toThrow(msg);
    }
  });

  it('names, header ids and spec tags are distinct; the default is a record; the generator registry lists the same names', () => {
    const ids = RECON_TOPOLOGY_MODELS.map((t) => t.headerId);
    const tokens = RECON_TOPOLOGY_MODELS.map((t) => t.specTag);
    expect(new Set(RECON_TOPOLOGY_NAMES).size).toBe(RECON_TOPOLOGY_MODELS.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const t of RECON_TOPOLOGY_MODELS) {
      expect(reconTopologyModel(t.name)).toBe(t);
      expect(reconTopologyByHeaderId(t.headerId)).toBe(t);
      expect(reconTopologyBySpecTag(t.specTag)).toBe(t);
    }
    expect(RECON_TOPOLOGY_NAMES).toContain(DEFAULT_RECON_TOPOLOGY);
    expect(RECON_TOPOLOGY_BLOCKS.map((b) => b.name)).toEqual([...RECON_TOPOLOGY_NAMES]);
  });

  for (const t of RECON_TOPOLOGY_MODELS) {
    for (const B of LANES) {
      it(`${t.name} B=${B}: partner lists, reachability and the partner field agree`, () => {
        const slotBits = Math.log2(B);
        const fieldBits = t.partnerFieldBits(slotBits);
        for (let o = 0; o < B; o++) {
          const reach = Array.from({ length: B }, (_, q) => q).filter((q) => t.reachable(o, q));
          expect([...t.partners(o, B)].sort((a, b) => a - b)).toEqual(reach);
          expect(reach).not.toContain(o);
          if (t.anyPairing) expect(reach.length).toBe(B - 1);
          for (const p of reach) {
            const f = t.partnerField(o, p);
            expect(f).toBeGreaterThanOrEqual(0);
            expect(f).toBeLessThan(2 ** fieldBits);
            expect(t.partnerFieldError(f, slotBits)).toBeUndefined();
            expect(t.partnerSlot(o, f)).toBe(p);
            expect(t.partnerSlotHw(o, f, B)).toBe(p);
            expect(t.routable([{ outlier: o, partner: p }], B)).toBe(true);
          }
          // every field value the record accepts names a slot of the μB (routable then checks the pairing); so does the RTL's view of any value
          for (let f = 0; f < 2 ** fieldBits; f++) {
            if (t.partnerFieldError(f, slotBits) === undefined) {
              const q = t.partnerSlot(o, f);
              expect(q >= 0 && q < B).toBe(true);
              expect(t.partnerSlotHw(o, f, B)).toBe(q);
            }
            const hw = t.partnerSlotHw(o, f, B);
            expect(hw >= 0 && hw < B).toBe(true);
          }
        }
      });

      it(`${t.name} B=${B}: the testbench hook draws legal pairings, and the lane model computes the contract on them`, () => {
        const rng = new Rng(31 * B + t.headerId);
        const p: ReconParams = { lanes: B, splitBits: 3, guardBits: 2, shiftBits: 3 };
        const productWidth = 4 + 8;
        let draws = 0;
        for (let np = 0; np <= B / 2; np++) {
          for (let k = 0; k < 150; k++) {
            const pairs = t.randomPairs(B, np, rng);
            expect(pairs.length).toBeLessThanOrEqual(np);
            if (np === B / 2) expect(pairs.length).toBe(B / 2);
            expect(t.routable(pairs.map(({ o, p: q }) => ({ outlier: o, partner: q })), B)).toBe(true);
            const prods = Array.from({ length: B }, () => randomProduct(rng, 4, 8));
            const settings = settingsForPairing(B, pairs.map(({ o, p: q }): [number, number] => [o, q]), Array.from({ length: B }, () => rng.int(0, 7)));
            expect(t.lanes(prods, settings, p, productWidth)).toEqual(reconLanesIdeal(prods, settings, p));
            draws++;
          }
        }
        expect(draws).toBeGreaterThan(0);
      });
    }

    it(`${t.name}: every enumerated legal pairing of 4 and 8 lanes is routable, and nothing else of one pair is`, () => {
      for (const B of [4, 8]) {
        let n = 0;
        for (const pairs of legalPairings(B, t.name)) {
          expect(t.routable(pairs.map(([o, q]) => ({ outlier: o, partner: q })), B)).toBe(true);
          n++;
        }
        expect(n).toBeGreaterThan(B);
        for (let o = 0; o < B; o++) for (let q = 0; q < B; q++) expect(t.routable([{ outlier: o, partner: q }], B)).toBe(t.reachable(o, q));
      }
    });
  }
});
