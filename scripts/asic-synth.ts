/**
 * ASIC hand-off of one accelerator configuration (run through
 * scripts/asic-synth.sh):
 *
 *   bash scripts/asic-synth.sh [generator flags] [--liberty FILE.lib] [--flatten] [--out DIR]
 *
 * 1. `msq generate` with the generator flags (e.g. --rows 4 --cols 8 --wbits 2)
 *    into DIR/rtl: the RTL, filelist.f, and the SDC with the clock and I/O
 *    constraints (create_clock, set_input_delay, set_output_delay), copied to DIR.
 * 2. Yosys generic synthesis (`synth -top`, hierarchy kept unless --flatten),
 *    written as a gate-level netlist DIR/<top>.generic.v, with `stat` and the
 *    NAND2-equivalent estimate of perf/cell-area.ts per block.
 * 3. With --liberty: flip-flops legalized to plain D flip-flops and mapped to
 *    the library (`dfflibmap`), logic mapped by `abc -liberty` with the SDC's
 *    clock period as the delay target, `stat -liberty` (the library's area),
 *    netlist DIR/<top>.<library>.v.
 * DIR defaults to build/asic/<top>. Prints a summary; DIR/summary.json holds it.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { breakdown, parseStat } from '../perf/area.ts';
import { DEFAULT_PERIOD_NS } from '../generator/targets.ts';
import { prepareWorkFolder } from '../common/output-path.ts';
import { InputError } from '../common/errors.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
function take(name: string, hasValue: boolean): string | boolean | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = hasValue ? argv[i + 1] : true;
  if (hasValue && (v === undefined || String(v).startsWith('--'))) throw new Error(`${name} needs a value`);
  argv.splice(i, hasValue ? 2 : 1);
  return v;
}
const liberty = take('--liberty', true) as string | undefined;
const flatten = take('--flatten', false) === true;
const outFlag = take('--out', true) as string | undefined;
const generatorFlags = argv; // everything else goes to msq generate

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`.slice(-4000));
    throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status})`);
  }
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

// generate into a scratch folder first: the output folder is named after the top, known only then
mkdirSync(resolve('build/asic'), { recursive: true });
const scratch = mkdtempSync(join(resolve('build/asic'), '.gen-'));
let top: string;
let manifest: { top: string; files: string[] };
let out: string;
try {
  sh(process.execPath, [join(repo, 'bin/msq.mjs'), 'generate', ...generatorFlags, '--out', join(scratch, 'rtl')], repo);
  manifest = JSON.parse(readFileSync(join(scratch, 'rtl', 'manifest.json'), 'utf8')) as { top: string; files: string[] };
  top = manifest.top;
  // the output policy of msq: an existing --out must be empty or made by msq (common/output-path.ts)
  try {
    out = prepareWorkFolder('--out', outFlag ?? join('build/asic', top), { keep: true });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(`asic-synth: error: ${e.message}\n`);
    process.exit(2);
  }
  rmSync(join(out, 'rtl'), { recursive: true, force: true });
  cpSync(join(scratch, 'rtl'), join(out, 'rtl'), { recursive: true });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const rtl = join(out, 'rtl');
const sdc = `${top}.sdc`;
copyFileSync(join(rtl, sdc), join(out, sdc));
const periodMatch = /create_clock .*-period ([0-9.]+)/.exec(readFileSync(join(out, sdc), 'utf8'));
const periodNs = periodMatch ? Number(periodMatch[1]) : DEFAULT_PERIOD_NS;

const files = manifest.files.map((f) => join(rtl, f)).join(' ');
const generic = `${top}.generic.v`;
const script = [
  `read_verilog ${files}`,
  `synth -top ${top}${flatten ? ' -flatten' : ''}`,
  'check -assert',
  'tee -q -o stat.generic.txt stat',
  `write_verilog -noattr ${generic}`,
];
let mapped: string | undefined;
if (liberty) {
  const lib = resolve(liberty);
  const libName = basename(lib).replace(/\.lib$/, '');
  mapped = `${top}.${libName}.v`;
  script.push(
    // sync reset and enable become logic around plain D flip-flops, which every library has
    'dfflegalize -cell $_DFF_P_ 01',
    `dfflibmap -liberty ${lib}`,
    `abc -D ${Math.round(periodNs * 1000)} -liberty ${lib}`,
    'opt_clean',
    `tee -q -o stat.liberty.txt stat -liberty ${lib}`,
    `write_verilog -noattr ${mapped}`,
  );
}
writeFileSync(join(out, 'synth.ys'), script.join('\n') + '\n');
const t0 = performance.now();
sh('yosys', ['-q', '-l', 'yosys.log', '-s', 'synth.ys'], out);
const seconds = (performance.now() - t0) / 1000;

const genericStat = parseStat(readFileSync(join(out, 'stat.generic.txt'), 'utf8'));
const area = breakdown(genericStat, top);
let libArea: number | undefined;
if (liberty) {
  const text = readFileSync(join(out, 'stat.liberty.txt'), 'utf8');
  // hierarchical designs print one "Chip area for module" per module and, for the top, one for the whole design
  const topArea = new RegExp(`Chip area for top module '\\\\?${top}':\\s*([0-9.]+)`).exec(text) ?? new RegExp(`Chip area for module '\\\\?${top}':\\s*([0-9.]+)`).exec(text);
  libArea = topArea ? Number(topArea[1]) : undefined;
}
const summary = {
  top,
  generatorFlags,
  flatten,
  periodNs,
  sdc,
  netlists: { generic, mapped: mapped ?? null },
  cells: area.cells,
  nand2_equivalents: Object.fromEntries(Object.entries(area.ge).map(([k, v]) => [k, Math.round(v)])),
  liberty: liberty ? { file: resolve(liberty), area: libArea ?? null } : null,
  yosys_s: Math.round(seconds * 10) / 10,
};
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
process.stdout.write(
  [
    `asic-synth: ${top} in ${out} (Yosys ${summary.yosys_s} s)`,
    `  constraints: ${sdc} (clock period ${periodNs} ns)`,
    `  generic netlist: ${generic}: ${area.cells.total} cells, ${Math.round(area.ge.total)} NAND2-equivalents (model) — ` +
      `PE array ${Math.round(area.ge.pe_array)}, ReCoN ${Math.round(area.ge.recon)}, decode ${Math.round(area.ge.decode)}, post-array ${Math.round(area.ge.post)}, control ${Math.round(area.ge.control)}`,
    ...(liberty ? [`  mapped netlist: ${mapped}: area ${libArea ?? '?'} (library units, stat -liberty)`] : []),
  ].join('\n') + '\n',
);
