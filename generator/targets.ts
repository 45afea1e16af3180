import { InputError, checkIntRange } from '../common/errors.ts';
import { elaborate, type Design } from './dsl/elaborate.ts';
import { pe, peProductWidth, checkPeConfig, type PeConfig } from './blocks/pe.ts';

/** What `msq generate --top NAME` can build. */
export const TOPS = ['pe'] as const;
export type TopName = (typeof TOPS)[number];

export interface GenerateOptions {
  top: TopName;
  wbits: number;
  abits: number;
  accWidth?: number;
}

export interface Generation {
  design: Design;
  /** the full configuration, as written into headers and manifest.json */
  config: Record<string, unknown>;
}

/**
 * Validates options (before anything is written) and elaborates the design.
 * The standalone PE gets 8 guard bits above its product by default: room for
 * 256 accumulations without wrap.
 */
export function buildTop(o: GenerateOptions): Generation {
  switch (o.top) {
    case 'pe': {
      const pw = peProductWidth(o.wbits, o.abits);
      const accWidth = o.accWidth ?? pw + 8;
      const cfg: PeConfig = { wbits: o.wbits, abits: o.abits, accWidth, addend: 'self' };
      checkPeConfig(cfg);
      checkIntRange('--acc-width', accWidth, pw, 64);
      return { design: elaborate(pe(cfg)), config: { top: 'pe', ...cfg } };
    }
    default:
      throw new InputError(`--top ${String(o.top)} is not supported: allowed values are ${TOPS.join(', ')}`);
  }
}
