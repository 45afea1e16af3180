/**
 * Access to the shared reference vectors (../shared/vectors relative to the
 * project root, resolved from this file, not from the working directory).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpy, type NpyArray } from '../quant/npy.ts';

export const VECTORS_DIR = fileURLToPath(new URL('../../shared/vectors/', import.meta.url));

export interface MxCase {
  input: string;
  output: string;
  format: string;
  block_size: number;
  axis: number;
  scale_bits: number;
  rounding: 'nearest' | 'even';
}

export function mxManifest(): MxCase[] {
  return JSON.parse(readFileSync(`${VECTORS_DIR}mx/manifest.json`, 'utf8')) as MxCase[];
}

const cache = new Map<string, NpyArray>();
export function mxArray(file: string): NpyArray {
  let a = cache.get(file);
  if (!a) {
    a = readNpy(`${VECTORS_DIR}mx/${file}`);
    cache.set(file, a);
  }
  return a;
}

/** Indices where two float32 arrays differ in bit pattern (+0 and -0 count as equal, NaN as equal to NaN). */
export function bitMismatches(a: Float32Array, b: Float32Array): number[] {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (ua[i] === ub[i]) continue;
    if (a[i] === 0 && b[i] === 0) continue;
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    bad.push(i);
  }
  return bad;
}
