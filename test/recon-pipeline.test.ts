/**
 * The pipelined ReCoN networks and slices the PE array builds
 * (ReconNetworkConfig.pipelined): RTL clean in all three tools, and on both
 * simulators the exact lane model, `latency` cycles later, with settings that
 * change every cycle (networks) or are swapped in at random cycles (slices).
 * test/recon.test.ts covers the combinational networks and slice.
 */
import { describe, expect, it } from 'vitest';
import { reconParams, reconWidths, type ReconConfig } from '../generator/blocks/recon-config.ts';
import { reconTopology } from '../generator/blocks/recon-topologies.ts';
import { reconSlice, reconSliceLatency } from '../generator/blocks/recon-slice.ts';
import { butterflyCuts } from '../generator/blocks/recon-butterfly.ts';
import type { ReconNetworkConfig } from '../generator/blocks/recon-lane.ts';
import type { ReconTopology } from '../quant/hwmodel/recon.ts';
import { writeCycleBench, runBench, type Simulator } from '../testbench/cycle-harness.ts';
import { reconCases } from '../testbench/recon-vectors.ts';
import { pipelinedNetworkVectors, pipelinedSliceVectors, type PipelineBench } from '../testbench/recon-pipeline-vectors.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

const cfg = (lanes: number, wbits: number, topology: ReconTopology): ReconNetworkConfig => ({
  lanes, wbits, abits: 8, guardBits: wbits === 4 ? 2 : 1, shiftBits: 3, topology, pipelined: true,
});

function bench(c: ReconNetworkConfig): PipelineBench {
  const w = reconWidths(c);
  return { p: reconParams(c), topology: c.topology, wbits: c.wbits, abits: c.abits, productWidth: w.PW, laneWidth: w.LW, latency: reconSliceLatency(c) };
}

const CONFIGS: ReconNetworkConfig[] = [
  cfg(4, 2, 'crossbar'), cfg(8, 4, 'crossbar'), cfg(16, 2, 'crossbar'),
  cfg(4, 4, 'butterfly'), cfg(8, 2, 'butterfly'), cfg(8, 4, 'butterfly'), cfg(16, 4, 'butterfly'),
];
const label = (c: ReconConfig) => `B=${c.lanes} w${c.wbits} ${c.topology}`;

describe('pipelined ReCoN networks: where the registers are', () => {
  it('the crossbar has one register stage, the butterfly one before every switch stage but the first', () => {
    expect(reconSliceLatency(cfg(8, 4, 'crossbar'))).toBe(1);
    expect(butterflyCuts(4)).toEqual([1]);
    expect(butterflyCuts(8)).toEqual([1, 2]);
    expect(butterflyCuts(16)).toEqual([1, 2, 3]);
    for (const c of CONFIGS) expect(reconSliceLatency(c)).toBeGreaterThan(0);
    // the combinational network (what test/recon.test.ts builds) has none
    expect(reconSliceLatency({ ...cfg(8, 4, 'butterfly'), pipelined: false })).toBe(0);
  });
});

describe('pipelined ReCoN RTL is clean in all three tools', () => {
  for (const c of CONFIGS) {
    it(`slice ${label(c)}`, () => {
      expectCleanRtl(reconSlice(c));
    });
  }
});

describe('pipelined ReCoN networks simulated: the exact model, latency cycles later, settings swapped nearly every cycle', () => {
  for (const c of CONFIGS) {
    const b = bench(c);
    const cases = reconCases(b.p, c.wbits, c.abits, c.topology, 4321 + c.lanes, c.lanes === 16 ? 1500 : 3000, 400);
    const vectors = pipelinedNetworkVectors(b, cases, 5 + c.lanes);
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`${label(c)} (latency ${b.latency}) on ${sim}: ${vectors.length} cycles`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(reconTopology(c.topology).network(c), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});

describe('pipelined ReCoN slices simulated: double-buffered settings swapped while beats of both are in flight', () => {
  for (const c of CONFIGS) {
    const b = bench(c);
    const cases = reconCases(b.p, c.wbits, c.abits, c.topology, 99 + c.lanes, 500, 200);
    const vectors = pipelinedSliceVectors(b, cases, 7 + c.lanes);
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`${label(c)} on ${sim}: ${vectors.length} cycles`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(reconSlice(c), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});
