import type { MsqLayer } from '../microscopiq/layer.ts';
import { weightStream } from './weight-stream.ts';

/** Geometry the weight stream depends on. */
export interface StreamGeometry {
  rows: number;
  cols: number;
  depth: number;
  outliers: boolean;
}

/**
 * The accelerator's whole weight stream for a problem with M activation rows:
 * every tile in the order of docs/ARCHITECTURE.md, re-sent for each M-chunk.
 */
export function accelWeightStream(layer: MsqLayer, g: StreamGeometry, M: number): Uint32Array {
  return weightStream(layer, { rows: g.rows, cols: g.cols, plain: !g.outliers, mChunks: Math.ceil(M / g.depth) });
}
