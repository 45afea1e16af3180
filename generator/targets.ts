import { InputError, checkIntRange, checkOneOf } from '../common/errors.ts';
import { elaborate, type Design } from './dsl/elaborate.ts';
import { pe, peProductWidth, checkPeConfig, type PeConfig } from './blocks/pe.ts';
import { accelerator, acceleratorBlocks, type AcceleratorBlocks } from './blocks/accelerator.ts';
import { resolveAccelConfig, type AccelConfig, type AccelOptions } from './accel-config.ts';
import { coreCollateral } from './collateral.ts';
import type { GeneratedFile } from './emit.ts';

/** What `msq generate --top NAME` and `msq sim --top NAME` can build. */
export const TOPS = ['accelerator', 'pe'] as const;
export type TopName = (typeof TOPS)[number];

/**
 * One block of the accelerator alone, built from the accelerator flags exactly as
 * the accelerator instantiates it: for sign-off and synthesis of a block
 * (`msq generate|signoff --top post-array`). Not simulated alone by `msq sim`
 * (each block has its own testbench in test/).
 */
export const BLOCK_TOPS = {
  'pe-array': 'array',
  'post-array': 'post',
  decode: 'decode',
  controller: 'controller',
} as const satisfies Record<string, keyof AcceleratorBlocks>;
export type BlockTopName = keyof typeof BLOCK_TOPS;

/** Blocks an earlier msq could build alone and the accelerator no longer has: refused with the reason. */
export const RETIRED_TOPS: Record<string, string> = {
  'result-fifo':
    'the accelerator has no result FIFO any more: result rows wait in the post-array unit\'s fbuf and leave from its output register (build --top post-array; docs/ARCHITECTURE.md)',
};

/** --top NAME, checked: one of BUILD_TOPS, or an error that names them (and why a retired block is gone). */
export function checkTop(name: string): BuildTopName {
  const retired = RETIRED_TOPS[name];
  if (retired !== undefined) throw new InputError(`--top ${name}: ${retired}`);
  return checkOneOf('--top', name, BUILD_TOPS) as BuildTopName;
}

/** Every --top of msq generate and msq signoff: the two designs, then the accelerator's blocks. */
export const BUILD_TOPS = [...TOPS, ...(Object.keys(BLOCK_TOPS) as BlockTopName[])] as const;
export type BuildTopName = TopName | BlockTopName;

export function isBlockTop(top: string): top is BlockTopName {
  return Object.hasOwn(BLOCK_TOPS, top);
}

export interface GenerateOptions {
  top: BuildTopName;
  /** accelerator options (used when top = accelerator) */
  accel: AccelOptions;
  /** standalone PE: accumulator width (default product width + 8) */
  accWidth?: number;
}

export interface Generation {
  design: Design;
  /** the full configuration, as written into headers and manifest.json */
  config: Record<string, unknown>;
  /** files beside the RTL: core description, constraints, README */
  extra: GeneratedFile[];
  /** the resolved accelerator configuration (top = accelerator) */
  accel?: AccelConfig;
}

/** Default clock period of the emitted SDC (ns): a 200 MHz target. */
export const DEFAULT_PERIOD_NS = 5;

/** `msq sim` flags that rebuild an accelerator configuration. */
export function accelFlags(o: AccelOptions): string {
  return [
    `--rows ${o.rows}`,
    `--cols ${o.cols}`,
    `--wbits ${o.wbits}`,
    `--abits ${o.abits}`,
    `--ublock ${o.ublock}`,
    `--group ${o.group}`,
    `--recon ${o.recon}`,
    `--depth ${o.depth}`,
    ...(o.outliers ? [] : ['--no-outliers']),
  ].join(' ');
}

/**
 * Validates options (before anything is written) and elaborates the design.
 * The standalone PE gets 8 guard bits above its product by default: room for
 * 256 accumulations without wrap.
 */
export function buildTop(o: GenerateOptions): Generation {
  if (isBlockTop(o.top)) {
    const c = resolveAccelConfig(o.accel);
    const def = acceleratorBlocks(c)[BLOCK_TOPS[o.top]];
    return { design: elaborate(def), config: { top: o.top, ...o.accel, derived: { widths: c.widths } }, extra: [], accel: c };
  }
  switch (o.top) {
    case 'pe': {
      const pw = peProductWidth(o.accel.wbits, o.accel.abits);
      const accWidth = o.accWidth ?? pw + 8;
      const cfg: PeConfig = { wbits: o.accel.wbits, abits: o.accel.abits, accWidth, addend: 'self' };
      checkPeConfig(cfg);
      checkIntRange('--acc-width', accWidth, pw, 64);
      return { design: elaborate(pe(cfg)), config: { top: 'pe', ...cfg }, extra: [] };
    }
    case 'accelerator': {
      const c = resolveAccelConfig(o.accel);
      const design = elaborate(accelerator(c));
      const config = { top: 'accelerator', ...o.accel, derived: { outlierFormat: c.outliers ? c.msq.outlier : 'none', xbits: c.msq.xbits, guardBits: c.reconCfg?.guardBits ?? 0, maxShift: c.msq.maxShift, widths: c.widths } };
      const files = design.modules.map((m) => `${m.name}.v`);
      const extra = coreCollateral({
        top: design.top,
        files,
        description: design.top.doc,
        config: { ...o.accel, outlierFormat: c.outliers ? c.msq.outlier : 'none', guardBits: c.reconCfg?.guardBits ?? 0, maxShift: c.msq.maxShift },
        simFlags: accelFlags(o.accel),
        periodNs: DEFAULT_PERIOD_NS,
        rows: c.rows,
        cols: c.cols,
        depth: c.depth,
        group: c.group,
      });
      return { design, config, extra, accel: c };
    }
    default:
      throw new InputError(`--top ${String(o.top)} is not supported: allowed values are ${BUILD_TOPS.join(', ')}`);
  }
}
