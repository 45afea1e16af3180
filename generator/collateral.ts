import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import type { ModuleDef } from './dsl/module.ts';
import type { GeneratedFile } from './emit.ts';

const hb = Handlebars.create();
const load = (name: string) => hb.compile(readFileSync(new URL(`../templates/collateral/${name}`, import.meta.url), 'utf8'), { noEscape: true });
const coreTemplate = load('core.core.hbs');
const sdcTemplate = load('constraints.sdc.hbs');
const readmeTemplate = load('core-readme.md.hbs');

export interface CollateralInfo {
  top: ModuleDef;
  files: string[];
  description: string;
  config: Record<string, unknown>;
  /** the `msq sim` flags that rebuild this configuration */
  simFlags: string;
  /** clock period of the SDC, ns */
  periodNs: number;
  rows: number;
  cols: number;
  depth: number;
  group: number;
}

/**
 * Files that travel with a generated core: a FuseSoC CAPI2 core, an SDC with
 * the clock and I/O constraints, and a README (ports, protocol and timing, how
 * to simulate and synthesize). Pure functions of the design.
 */
export function coreCollateral(info: CollateralInfo): GeneratedFile[] {
  const top = info.top.name;
  const ports = info.top.ports;
  const ioPercent = 20;
  const ioDelay = ((info.periodNs * ioPercent) / 100).toFixed(3);
  const inputs = ports.filter((p) => p.kind === 'input' && p.name !== 'clk').map((p) => p.name);
  const outputs = ports.filter((p) => p.kind === 'output').map((p) => p.name);
  const common = { top, generator: GENERATOR_NAME, version: GENERATOR_VERSION, description: info.description };
  const configRows = Object.entries(info.config).map(([name, value]) => ({ name, value: typeof value === 'object' ? JSON.stringify(value) : String(value) }));
  return [
    { path: `${top}.core`, text: coreTemplate({ ...common, files: info.files }) },
    {
      path: `${top}.sdc`,
      text: sdcTemplate({ ...common, period: info.periodNs.toFixed(3), ioDelay, ioPercent, inputs: `{${inputs.join(' ')}}`, outputs: `{${outputs.join(' ')}}` }),
    },
    {
      path: 'README.md',
      text: readmeTemplate({
        ...common,
        configRows,
        period: info.periodNs.toFixed(3),
        ports: ports.map((p) => ({ name: p.name, dir: p.kind, width: p.width.value, doc: p.comment ?? '' })),
        simFlags: info.simFlags,
        rows: info.rows,
        cols: info.cols,
        depth: info.depth,
        group: info.group,
      }),
    },
  ];
}
