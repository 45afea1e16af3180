/**
 * Area of a generated accelerator: Yosys generic synthesis (`synth -top`,
 * hierarchy kept), `stat` per module, multiplied by instance counts, grouped by
 * block, plus the NAND2-equivalent estimate of perf/cell-area.ts.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildTop } from '../generator/targets.ts';
import { writeRtlFiles } from '../generator/emit.ts';
import type { AccelOptions } from '../generator/accel-config.ts';
import { cellAreaGe, isFlop } from './cell-area.ts';
import { runAsync } from './exec.ts';

export const CATEGORIES = ['pe_array', 'recon', 'decode', 'post', 'control'] as const;
export type Category = (typeof CATEGORIES)[number];
export type Breakdown = Record<Category | 'total', number>;

/**
 * Block of a generated module, by name: PE array (PEs and the array's own
 * skew and swap registers), ReCoN (slices, networks, switches), decode unit,
 * post-array unit (with its int->fp32 and fp32 adders and row buffers), and
 * control (controller, the top's own cells: metadata delay line).
 */
export function categoryOf(moduleName: string): Category {
  const m = /msq_[A-Za-z0-9_]+/.exec(moduleName);
  const name = m ? m[0] : moduleName;
  if (name.startsWith('msq_pe_')) return 'pe_array';
  if (name.startsWith('msq_recon_')) return 'recon';
  if (name.startsWith('msq_decode_')) return 'decode';
  if (name.startsWith('msq_post_array_') || name.startsWith('msq_int2fp32_') || name.startsWith('msq_fp32_')) return 'post';
  if (name.startsWith('msq_controller_') || name.startsWith('msq_fifo_') || name.startsWith('msq_skid_') || name.startsWith('msq_accel_')) return 'control';
  throw new Error(`area: module ${moduleName} belongs to no block (add it to categoryOf in perf/area.ts)`);
}

/** One module of a `stat` report: its own gate cells and its submodule instances. */
export interface StatModule {
  name: string;
  /** gate cell type -> count (cells of this module only) */
  gates: Map<string, number>;
  /** submodule name -> instances */
  children: Map<string, number>;
}

/** One `=== name ===` section of a Yosys `stat` report, its cell list split into gates and submodule instances. */
export interface StatSection {
  name: string;
  /** the section's text (for lines such as `Chip area for module …`) */
  body: string;
  /** cell type -> count, for types that are not modules of the report */
  gates: Map<string, number>;
  /** submodule name -> instances */
  children: Map<string, number>;
}

/**
 * Splits the text of Yosys `stat` (plain or `-liberty`) into its module
 * sections (the design-hierarchy section is skipped). Cell types naming
 * another module of the report are instances of it. `rename` maps module and
 * cell names as printed (e.g. dropping a leading backslash).
 */
export function statSections(text: string, rename: (name: string) => string = (n) => n): StatSection[] {
  const sections = text.split(/^=== (.+) ===\s*$/m);
  const raw: { name: string; body: string; counts: Map<string, number> }[] = [];
  for (let i = 1; i + 1 < sections.length; i += 2) {
    const name = rename(sections[i]!.trim());
    if (name === 'design hierarchy') continue;
    const body = sections[i + 1]!;
    const start = body.indexOf('Number of cells:');
    const counts = new Map<string, number>();
    if (start >= 0) {
      for (const line of body.slice(start).split('\n').slice(1)) {
        const m = /^\s+(\S+)\s+(\d+)\s*$/.exec(line);
        if (!m) {
          if (line.trim() === '') continue;
          break;
        }
        counts.set(rename(m[1]!), Number(m[2]));
      }
    }
    raw.push({ name, body, counts });
  }
  const names = new Set(raw.map((r) => r.name));
  return raw.map(({ name, body, counts }) => {
    const gates = new Map<string, number>();
    const children = new Map<string, number>();
    for (const [type, n] of counts) (names.has(type) ? children : gates).set(type, n);
    return { name, body, gates, children };
  });
}

/** Parses the text of Yosys `stat`: each module's own gate cells and its submodule instances. */
export function parseStat(text: string): Map<string, StatModule> {
  return new Map(statSections(text).map(({ name, gates, children }) => [name, { name, gates, children }]));
}

export interface ModuleArea {
  name: string;
  category: Category;
  /** instances in the whole design */
  instances: number;
  /** own gate cells per instance */
  cells: number;
  flops: number;
  /** NAND2-equivalents per instance (own cells) */
  ge: number;
}

export interface AreaBreakdown {
  /** gate cells, flattened through the hierarchy */
  cells: Breakdown;
  /** NAND2-equivalents (perf/cell-area.ts) */
  ge: Breakdown;
  flops: Breakdown;
  modules: ModuleArea[];
}

const zero = (): Breakdown => ({ total: 0, pe_array: 0, recon: 0, decode: 0, post: 0, control: 0 });

/** The key of module `name` in a stat report (Yosys prints some names with a leading backslash). */
export function statKey(stat: Map<string, StatModule>, name: string): string {
  const key = [...stat.keys()].find((k) => k === name || k === `\\${name}`);
  if (!key) throw new Error(`area: module ${name} is not in the stat report (modules: ${[...stat.keys()].join(', ')})`);
  return key;
}

/** How many times each module occurs below `root` (root included, once), through the instance hierarchy. */
export function instanceCounts(stat: Map<string, StatModule>, root: string): Map<string, number> {
  const instances = new Map<string, number>();
  const visit = (name: string, mult: number) => {
    instances.set(name, (instances.get(name) ?? 0) + mult);
    for (const [child, n] of stat.get(name)!.children) visit(child, mult * n);
  };
  visit(statKey(stat, root), 1);
  return instances;
}

/** Multiplies each module's own cells by its instance count below `top` and sums them per block. */
export function breakdown(stat: Map<string, StatModule>, top: string): AreaBreakdown {
  const instances = instanceCounts(stat, top);
  const cells = zero();
  const ge = zero();
  const flops = zero();
  const modules: ModuleArea[] = [];
  for (const [name, n] of instances) {
    const m = stat.get(name)!;
    const category = categoryOf(name);
    let c = 0;
    let a = 0;
    let f = 0;
    for (const [type, count] of m.gates) {
      c += count;
      a += count * cellAreaGe(type);
      if (isFlop(type)) f += count;
    }
    modules.push({ name, category, instances: n, cells: c, flops: f, ge: a });
    for (const [b, v] of [
      [cells, c],
      [ge, a],
      [flops, f],
    ] as const) {
      b[category] += v * n;
      b.total += v * n;
    }
  }
  return { cells, ge, flops, modules };
}

export interface AreaResult extends AreaBreakdown {
  options: AccelOptions;
  top: string;
  /** wall time of the Yosys run */
  synthSeconds: number;
  /** bits in the post-array row buffers (synthesized as flip-flops) and its output register */
  bufferBits: { rowBuffers: number; outputRegister: number };
}

/** The Yosys script of the area run: plain generic `synth` with hierarchy, `stat` to a file. */
export function areaScript(files: string[], top: string): string {
  return [`read_verilog ${files.join(' ')}`, `synth -top ${top}`, 'tee -q -o stat.txt stat'].join('\n');
}

/** Generates the configuration into `work` and synthesizes it; throws with the log tail if Yosys fails. */
export async function synthArea(options: AccelOptions, work: string): Promise<AreaResult> {
  const gen = buildTop({ top: 'accelerator', accel: options });
  const c = gen.accel!;
  const dir = resolve(work);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rtl = writeRtlFiles(dir, gen.design);
  const top = gen.design.top.name;
  writeFileSync(join(dir, 'area.ys'), areaScript(rtl, top) + '\n');
  const r = await runAsync('yosys', ['-q', '-l', 'yosys.log', '-s', 'area.ys'], dir);
  if (!r.ok) {
    let log = r.output;
    try {
      log = readFileSync(join(dir, 'yosys.log'), 'utf8');
    } catch {
      // no log: keep the output
    }
    throw new Error(`yosys failed on ${top} (in ${dir}):\n${log.slice(-3000)}`);
  }
  const stat = parseStat(readFileSync(join(dir, 'stat.txt'), 'utf8'));
  const depth = Math.max(c.depth, 2);
  return {
    options,
    top,
    synthSeconds: r.seconds,
    ...breakdown(stat, top),
    bufferBits: { rowBuffers: depth * c.cols * (c.widths.INTW + 32), outputRegister: c.cols * 32 },
  };
}
