import { describe, expect, it } from 'vitest';
import { peArray, peArrayLatency, peArrayWidths, type PeArrayConfig } from '../generator/blocks/pe-array.ts';
import { reconParams, reconWidths } from '../generator/blocks/recon-config.ts';
import { writeCycleBench, runBench, type Simulator } from '../testbench/cycle-harness.ts';
import { arrayStreamVectors, randomTile, type ArrayBench } from '../testbench/pe-array-vectors.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

function arrayCfg(rows: number, cols: number, wbits: number, topology: 'crossbar' | 'butterfly' | null, lanes = 4): PeArrayConfig {
  const guardBits = wbits === 4 ? 4 : 1;
  return { rows, cols, wbits, abits: 8, recon: topology ? { lanes, wbits, abits: 8, guardBits, shiftBits: 3, topology } : null };
}

function bench(c: PeArrayConfig): ArrayBench {
  const w = peArrayWidths(c);
  return {
    rows: c.rows,
    cols: c.cols,
    wbits: c.wbits,
    abits: c.abits,
    accWidth: w.ACCW,
    latency: peArrayLatency(c),
    laneSettingBits: c.recon ? reconWidths(c.recon).CFGW : 0,
    model: { rows: c.rows, cols: c.cols, productWidth: w.PW, recon: c.recon ? { ...reconParams(c.recon), topology: c.recon.topology } : null },
  };
}

const configs: [string, PeArrayConfig][] = [
  ['4x8 W4 crossbar B=4', arrayCfg(4, 8, 4, 'crossbar')],
  ['3x8 W2 butterfly B=8', arrayCfg(3, 8, 2, 'butterfly', 8)],
  ['4x4 W4 plain', arrayCfg(4, 4, 4, null)],
  ['2x16 W2 crossbar B=16', arrayCfg(2, 16, 2, 'crossbar', 16)],
];

describe('PE array RTL is clean in all three tools', () => {
  for (const [label, c] of configs) {
    it(label, () => {
      expectCleanRtl(peArray(c));
    });
  }
});

describe('PE array tile streams: column sums match the exact model, tiles swap without a gap', () => {
  for (const [label, c] of configs) {
    const b = bench(c);
    const rng = new Rng(2024 + c.rows * 100 + c.cols);
    const tiles = Array.from({ length: 4 }, () => randomTile(b, rng));
    const vectors = arrayStreamVectors(b, tiles, 3 * c.rows + 5, 77 + c.cols);
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`${label} on ${sim}: ${vectors.length} cycles, 4 tiles`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(peArray(c), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});
