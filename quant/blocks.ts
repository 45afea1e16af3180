/**
 * Block geometry shared by the MX and NxFP quantizers: how a C-order tensor is
 * cut into blocks of `blockSize` consecutive elements along one axis.
 *
 * With shape = [...before, len, ...after], outer = prod(before) and
 * inner = prod(after), element (o, i, n) sits at index (o·len + i)·inner + n,
 * and block b of the axis covers i in [b·blockSize, min((b+1)·blockSize, len)).
 * A short last block is handled as microxcaling does: it pads with zeros, which
 * cannot change a block maximum, so we simply process the shorter block.
 *
 * Per-block data (scales, selectors) is stored in C order over the shape with
 * the axis dimension replaced by nBlocks: index (o·nBlocks + b)·inner + n.
 */
import { InputError } from '../common/errors.ts';

export interface BlockGeometry {
  readonly shape: readonly number[];
  /** Axis along which blocks run, normalized to 0..rank-1. */
  readonly axis: number;
  readonly blockSize: number;
  readonly outer: number;
  readonly len: number;
  readonly inner: number;
  readonly nBlocks: number;
  /** Total number of blocks: outer · nBlocks · inner. */
  readonly blockCount: number;
  readonly size: number;
}

/** Largest block size accepted (the OCP standard uses 32; NxFP and MicroScopiQ use 8..128). */
export const MAX_BLOCK_SIZE = 4096;

export function blockGeometry(shape: readonly number[], axis: number, blockSize: number): BlockGeometry {
  const rank = shape.length;
  if (rank === 0) throw new InputError('a scalar (0-d array) cannot be cut into blocks: give an array with at least one axis');
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new InputError(`--axis ${axis} is out of range for a ${rank}-d array of shape [${shape.join(', ')}]: allowed ${-rank}..${rank - 1}`);
  }
  const ax = axis < 0 ? axis + rank : axis;
  const len = shape[ax]!;
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new InputError(`--block-size ${blockSize} is not supported: a block holds an integer number of elements, 1..${MAX_BLOCK_SIZE}`);
  }
  if (len > 0 && blockSize > len) {
    throw new InputError(
      `--block-size ${blockSize} does not fit: axis ${ax} of shape [${shape.join(', ')}] has only ${len} elements, ` +
        `so not even one full block fits along it; use a block size of at most ${len} or another --axis`,
    );
  }
  let outer = 1;
  for (let d = 0; d < ax; d++) outer *= shape[d]!;
  let inner = 1;
  for (let d = ax + 1; d < rank; d++) inner *= shape[d]!;
  const nBlocks = Math.ceil(len / blockSize);
  return { shape: [...shape], axis: ax, blockSize, outer, len, inner, nBlocks, blockCount: outer * nBlocks * inner, size: outer * len * inner };
}

/** Shape of the per-block arrays: the tensor's shape with the axis length replaced by nBlocks. */
export function blockShape(g: BlockGeometry): number[] {
  const s = [...g.shape];
  s[g.axis] = g.nBlocks;
  return s;
}
