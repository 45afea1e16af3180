import { describe, expect, it } from 'vitest';
import { fifo } from '../generator/blocks/fifo.ts';
import { skidBuffer } from '../generator/blocks/skid-buffer.ts';
import { writeCycleBench, runBench, type CycleVector, type Simulator } from '../testbench/cycle-harness.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

/**
 * The stimulus of a stream buffer's test in cycle t of `cycles`: fill up (in_valid 90 %,
 * out_ready 15 %), drain (10 % / 95 %), random traffic (50 % / 55 %), a reset at the start
 * and at three quarters, with data inside.
 */
function traffic(rng: Rng, t: number, cycles: number, mask: bigint): { reset: boolean; inValid: boolean; outReady: boolean; data: bigint } {
  const p = t < cycles / 4 ? 0.9 : t < cycles / 2 ? 0.1 : 0.5;
  const reset = t === 0 || t === Math.floor((3 * cycles) / 4);
  const inValid = rng.float() < p;
  const outReady = rng.float() < 1.05 - p;
  const data = (BigInt(rng.next()) * 0x9e3779b97n + BigInt(t)) & mask;
  return { reset, inValid, outReady, data };
}

/**
 * Cycle model of the FIFO (storage and wrap-bit pointers, as the RTL keeps
 * them; out_data is 0 while empty), cross-checked against a plain queue:
 * whenever out_valid, out_data is the oldest word not yet taken.
 * Phases: fill up, drain, random traffic, and a reset with data inside.
 */
function fifoVectors(width: number, depth: number, cycles: number, seed: number): CycleVector[] {
  const rng = new Rng(seed);
  const mask = (1n << BigInt(width)) - 1n;
  const storage = new Array<bigint>(depth).fill(0n);
  let w = 0;
  let r = 0;
  const queue: bigint[] = [];
  const out: CycleVector[] = [];
  for (let t = 0; t < cycles; t++) {
    const { reset, inValid, outReady, data } = traffic(rng, t, cycles, mask);
    if (reset) {
      storage.fill(0n);
      w = r = 0;
      queue.length = 0;
    } else {
      const count = (w - r + 2 * depth) % (2 * depth);
      if (outReady && count > 0) {
        r = (r + 1) % (2 * depth);
        queue.shift();
      }
      if (inValid && count < depth) {
        storage[w % depth] = data;
        w = (w + 1) % (2 * depth);
        queue.push(data);
      }
    }
    const count = (w - r + 2 * depth) % (2 * depth);
    if (count !== queue.length || (count > 0 && storage[r % depth] !== queue[0])) throw new Error(`model disagrees with the queue at cycle ${t}`);
    out.push({
      inputs: { rst_n: reset ? 0n : 1n, in_data: data, in_valid: inValid ? 1n : 0n, out_ready: outReady ? 1n : 0n },
      expect: { in_ready: count < depth ? 1n : 0n, out_valid: count > 0 ? 1n : 0n, out_data: count > 0 ? storage[r % depth]! : 0n },
    });
  }
  return out;
}

describe('result FIFO', () => {
  it('is clean in all three tools', () => {
    expectCleanRtl(fifo({ width: 40, depth: 8 }));
  });

  // depth 8: a FIFO with wrap-around; depth 2: the smallest, full rate
  for (const depth of [8, 2]) {
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      it(`${depth} entries match the model on ${sim}: fill, drain, random traffic, reset with data inside`, () => {
        const vectors = fifoVectors(40, depth, 600, 5 + depth);
        expect(vectors.filter((v) => v.expect!.in_ready === 0n).length).toBeGreaterThan(10); // it did fill up
        expect(vectors.filter((v) => v.inputs.in_valid === 1n && v.inputs.out_ready === 1n && v.expect!.out_valid === 1n).length).toBeGreaterThan(10); // in and out in one cycle
        const dir = tmpDir();
        const { files } = writeCycleBench(fifo({ width: 40, depth }), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});

/**
 * Cycle model of the skid buffer (its four registers, as the RTL keeps them),
 * cross-checked against a plain queue of at most 2 beats: whenever out_valid,
 * out_data is the oldest beat not yet taken.
 */
function skidVectors(width: number, cycles: number, seed: number): CycleVector[] {
  const rng = new Rng(seed);
  const mask = (1n << BigInt(width)) - 1n;
  let outQ = 0n;
  let outV = false;
  let skidQ = 0n;
  let skidV = false;
  const queue: bigint[] = [];
  const out: CycleVector[] = [];
  for (let t = 0; t < cycles; t++) {
    const { reset, inValid, outReady, data } = traffic(rng, t, cycles, mask);
    if (reset) {
      outQ = skidQ = 0n;
      outV = skidV = false;
      queue.length = 0;
    } else {
      const push = inValid && !skidV;
      const outFree = !outV || outReady;
      if (outV && outReady) queue.shift();
      if (push) queue.push(data);
      const skidBeat = skidQ;
      if (push) skidQ = data;
      if (outFree) {
        outQ = skidV ? skidBeat : data;
        outV = skidV || push;
        skidV = false;
      } else if (push) {
        skidV = true;
      }
    }
    if (queue.length !== (outV ? 1 : 0) + (skidV ? 1 : 0) || (outV && outQ !== queue[0])) throw new Error(`model disagrees with the queue at cycle ${t}`);
    out.push({
      inputs: { rst_n: reset ? 0n : 1n, in_data: data, in_valid: inValid ? 1n : 0n, out_ready: outReady ? 1n : 0n },
      expect: { in_ready: skidV ? 0n : 1n, out_valid: outV ? 1n : 0n, out_data: outQ }, // out_data exactly, also while out_valid is low
    });
  }
  return out;
}

describe('skid buffer (the activation input stage)', () => {
  it('is clean in all three tools', () => {
    expectCleanRtl(skidBuffer({ width: 40 }));
  });

  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`matches the model on ${sim}: fill, drain, random traffic, reset with data inside`, () => {
      const vectors = skidVectors(40, 600, 11);
      expect(vectors.filter((v) => v.expect!.in_ready === 0n).length).toBeGreaterThan(10); // it did fill up
      expect(vectors.filter((v) => v.inputs.in_valid === 1n && v.inputs.out_ready === 1n && v.expect!.in_ready === 1n).length).toBeGreaterThan(10); // in and out in one cycle
      const dir = tmpDir();
      const { files } = writeCycleBench(skidBuffer({ width: 40 }), vectors, dir);
      const r = runBench(dir, files, sim);
      expect(r.mismatches).toEqual([]);
      expect(r.passed).toBe(vectors.length);
    });
  }
});
