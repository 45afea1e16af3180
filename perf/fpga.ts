/**
 * iCE40 fit and speed of small accelerators: Yosys `synth_ice40` and
 * `nextpnr-ice40` (UP5K and HX8K). The accelerator's ports (hundreds of bits)
 * cannot all be package pins, so it is placed inside a wrapper with four pins:
 * every input except clk and rst_n comes from a shift register fed by one pin
 * (`sin`), and every output is XOR-reduced into one registered pin (`sout`),
 * which keeps all of the accelerator's logic observable. The accelerator's own
 * LUTs and flip-flops come from a second, hierarchy-preserving synthesis; the
 * wrapper adds one flip-flop per input bit and about one LUT per three output bits.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildTop } from '../generator/targets.ts';
import { writeRtlFiles } from '../generator/emit.ts';
import { DEFAULT_ACCEL, type AccelOptions } from '../generator/accel-config.ts';
import type { ModuleDef } from '../generator/dsl/module.ts';
import { instanceCounts, parseStat, statKey, type StatModule } from './area.ts';
import { runAsync } from './exec.ts';

export const ICE40_DEVICES = {
  up5k: { flag: '--up5k', package: 'sg48', luts: 5280, name: 'iCE40UP5K' },
  hx8k: { flag: '--hx8k', package: 'ct256', luts: 7680, name: 'iCE40HX8K' },
} as const;
export type Ice40Device = keyof typeof ICE40_DEVICES;

export const WRAPPER = 'msq_fpga_wrap';

/** The ports the wrapper drives from its shift register and observes, and their total widths. */
function wrappedPorts(top: ModuleDef) {
  const ins = top.ports.filter((p) => p.kind === 'input' && p.name !== 'clk' && p.name !== 'rst_n');
  const outs = top.ports.filter((p) => p.kind === 'output');
  return { ins, outs, inputBits: ins.reduce((s, p) => s + p.width.value, 0), outputBits: outs.reduce((s, p) => s + p.width.value, 0) };
}

/** Verilog of the four-pin wrapper around `top`. */
export function wrapperVerilog(top: ModuleDef): string {
  const { ins, outs, inputBits: iw, outputBits: ow } = wrappedPorts(top);
  const lines: string[] = [
    '`default_nettype none',
    `// Four-pin wrapper of ${top.name} for FPGA fit and timing (perf/fpga.ts):`,
    `// ${iw} input bits from a shift register on sin, ${ow} output bits XOR-reduced onto sout.`,
    `module ${WRAPPER} (`,
    '  input  wire clk,',
    '  input  wire rst_n,',
    '  input  wire sin,',
    '  output reg  sout',
    ');',
    `  reg  [${iw - 1}:0] chain;`,
    `  wire [${ow - 1}:0] observed;`,
    `  always @(posedge clk) chain <= {chain[${Math.max(iw - 2, 0)}:0], sin};`,
    '  always @(posedge clk) sout <= ^observed;',
  ];
  const conns: string[] = ['    .clk(clk)', '    .rst_n(rst_n)'];
  let at = 0;
  for (const p of ins) {
    conns.push(`    .${p.name}(chain[${at + p.width.value - 1}:${at}])`);
    at += p.width.value;
  }
  at = 0;
  for (const p of outs) {
    conns.push(`    .${p.name}(observed[${at + p.width.value - 1}:${at}])`);
    at += p.width.value;
  }
  lines.push(`  ${top.name} u_dut (`, conns.join(',\n'), '  );', 'endmodule', '`default_nettype wire', '');
  if (iw < 2) throw new Error('wrapper: the top has fewer than two input bits');
  return lines.join('\n');
}

/** What to place: the whole accelerator, or one of its blocks (built for that accelerator configuration). */
export const FPGA_BLOCKS = {
  accelerator: 'msq_accel_',
  pe_array: 'msq_pe_array_',
  decode: 'msq_decode_',
  post_array: 'msq_post_array_',
  controller: 'msq_controller_',
} as const;
export type FpgaBlock = keyof typeof FPGA_BLOCKS;

export interface FpgaTarget {
  options: AccelOptions;
  block: FpgaBlock;
}

export interface FpgaResult extends FpgaTarget {
  top: string;
  /** the block alone (hierarchy kept): SB_LUT4, flip-flops (SB_DFF*), SB_CARRY */
  accel: { luts: number; flops: number; carries: number; rams: number };
  /** the whole wrapped design after synth_ice40 (flattened) */
  total: { luts: number; flops: number; carries: number; rams: number };
  wrapper: { inputBits: number; outputBits: number };
  pnr: Partial<Record<Ice40Device, { fits: boolean; logicCells?: number; utilization?: number; fmaxMhz?: number; seconds: number; message?: string }>>;
  synthSeconds: number;
}

function iceCounts(gates: Map<string, number>): { luts: number; flops: number; carries: number; rams: number } {
  let luts = 0;
  let flops = 0;
  let carries = 0;
  let rams = 0;
  for (const [t, n] of gates) {
    if (t === 'SB_LUT4') luts += n;
    else if (t.startsWith('SB_DFF')) flops += n;
    else if (t === 'SB_CARRY') carries += n;
    else if (t.startsWith('SB_RAM') || t.startsWith('SB_SPRAM')) rams += n;
  }
  return { luts, flops, carries, rams };
}

/** Sums gate counts below `root` through the instance hierarchy of a stat report. */
function flatGates(stat: Map<string, StatModule>, root: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, n] of instanceCounts(stat, root)) {
    for (const [t, count] of stat.get(name)!.gates) out.set(t, (out.get(t) ?? 0) + count * n);
  }
  return out;
}

/** The placed and routed design (nextpnr's ASCII bitstream form) of a device, in the work folder of fpgaFlow. */
export const pnrAscFile = (d: Ice40Device) => `pnr-${d}.asc`;

/**
 * synth_ice40's LUT mapping: ABC9, which maps against the device's LUT and carry
 * delays. The default `abc -lut 4` maps for depth in LUT levels only, and its area
 * recovery then stretches every path with slack into a ripple of LUTs up to the
 * deepest one (a Kogge-Stone adder came out as an 18-LUT chain). Measured on the
 * post-array unit of the 2x4 accelerator (HX8K, seed 1): 51.0 MHz with `abc`,
 * 63.3 MHz with ABC9, 87.6 MHz with ABC9 and `--adders carry`; the decode unit
 * 4x8 W2 crossbar 57.8 -> 67.9 MHz (docs/TIMING_CLOSURE.md).
 */
export const SYNTH_ICE40_FLAGS = '-abc9';

/** Synthesizes one configuration (or one block of it) for iCE40 and places and routes it on the given devices. */
export async function fpgaFlow(target: FpgaTarget, work: string, devices: Ice40Device[], freqMhz = 12): Promise<FpgaResult> {
  const { options, block } = target;
  const gen = buildTop({ top: 'accelerator', accel: options });
  const dut = gen.design.modules.find((m) => m.name.startsWith(FPGA_BLOCKS[block]));
  if (!dut) throw new Error(`fpga: no ${block} module in ${gen.design.top.name}`);
  const dir = resolve(work);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rtl = writeRtlFiles(dir, gen.design);
  writeFileSync(join(dir, `${WRAPPER}.v`), wrapperVerilog(dut));
  const files = [...rtl, `${WRAPPER}.v`].join(' ');
  const top = dut.name;
  // hierarchy kept: the accelerator's own numbers. Both runs map with ABC9 (SYNTH_ICE40_FLAGS).
  const hier = await runAsync('yosys', ['-q', '-l', 'hier.log', '-p', `read_verilog ${files}; synth_ice40 ${SYNTH_ICE40_FLAGS} -noflatten -top ${WRAPPER}; tee -q -o hier.txt stat`], dir);
  if (!hier.ok) throw new Error(`synth_ice40 -noflatten failed on ${top}:\n${hier.output.slice(-3000)}`);
  const stat = parseStat(readFileSync(join(dir, 'hier.txt'), 'utf8'));
  const accel = iceCounts(flatGates(stat, top));
  // flattened, for place and route
  const flat = await runAsync('yosys', ['-q', '-l', 'synth.log', '-p', `read_verilog ${files}; synth_ice40 ${SYNTH_ICE40_FLAGS} -top ${WRAPPER} -json wrap.json; tee -q -o flat.txt stat`], dir);
  if (!flat.ok) throw new Error(`synth_ice40 failed on ${top}:\n${flat.output.slice(-3000)}`);
  const fstat = parseStat(readFileSync(join(dir, 'flat.txt'), 'utf8'));
  const total = iceCounts(fstat.get(statKey(fstat, WRAPPER))!.gates);
  const { inputBits, outputBits } = wrappedPorts(dut);
  const result: FpgaResult = {
    options,
    block,
    top,
    accel,
    total,
    wrapper: { inputBits, outputBits },
    pnr: {},
    synthSeconds: hier.seconds + flat.seconds,
  };
  for (const d of devices) {
    const dev = ICE40_DEVICES[d];
    if (total.luts > dev.luts * 1.05) {
      result.pnr[d] = { fits: false, seconds: 0, message: `${total.luts} LUTs after synthesis, the device has ${dev.luts} logic cells (not placed)` };
      continue;
    }
    const rep = `pnr-${d}.json`;
    // --asc keeps the placed and routed design, for a bitstream (pnrAscFile)
    const r = await runAsync('nextpnr-ice40', [dev.flag, '--package', dev.package, '--json', 'wrap.json', '--asc', pnrAscFile(d), '--freq', String(freqMhz), '--seed', '1', '--timing-allow-fail', '--report', rep, '-q', '-l', `pnr-${d}.log`], dir);
    if (!r.ok) {
      const log = r.output;
      const need = /Failed to expand region .* of (\d+) ICESTORM_LCs/.exec(log);
      const m = /ERROR: (.*)/.exec(log);
      const message = need ? `needs ${need[1]} logic cells, the device has ${dev.luts}` : (m ? m[1]! : log.slice(-300)).replace(/\|/g, '/');
      result.pnr[d] = { fits: false, seconds: r.seconds, message };
      continue;
    }
    const report = JSON.parse(readFileSync(join(dir, rep), 'utf8')) as {
      utilization: Record<string, { used: number; available: number }>;
      fmax: Record<string, { achieved: number; constraint: number }>;
    };
    const lc = report.utilization['ICESTORM_LC'];
    const fmaxes = Object.values(report.fmax ?? {}).map((f) => f.achieved);
    result.pnr[d] = {
      fits: true,
      logicCells: lc?.used,
      utilization: lc ? lc.used / lc.available : undefined,
      fmaxMhz: fmaxes.length ? Math.min(...fmaxes) : undefined,
      seconds: r.seconds,
    };
  }
  return result;
}

/**
 * Small configurations: output buffers of depth 2 and μBs of B = 4 (the smallest ReCoN) unless stated,
 * built as an FPGA user builds them: `--adders carry` (plain + onto the SB_CARRY chains) and
 * `--decode-rate half` (the decode unit's record test registered: its loop is one select and a shift).
 */
const small = (rows: number, cols: number, wbits: number, recon: 'crossbar' | 'butterfly', outliers: boolean, ublock = 4): AccelOptions => ({
  ...DEFAULT_ACCEL,
  adders: 'carry',
  decodeRate: 'half',
  rows,
  cols,
  wbits,
  ublock,
  recon,
  outliers,
  depth: 2,
});

/**
 * The smallest whole accelerators (2×4 is the smallest legal array: C is a
 * multiple of B >= 4), then blocks on their own: PE arrays of growing size
 * with each ReCoN, the post-array unit, the decode unit and the controller.
 */
export const FPGA_TARGETS: FpgaTarget[] = [
  { block: 'accelerator', options: small(2, 4, 2, 'crossbar', false) },
  { block: 'accelerator', options: small(2, 4, 2, 'crossbar', true) },
  { block: 'accelerator', options: small(2, 4, 2, 'butterfly', true) },
  { block: 'pe_array', options: small(4, 4, 2, 'crossbar', false) },
  { block: 'pe_array', options: small(4, 4, 2, 'crossbar', true) },
  { block: 'pe_array', options: small(4, 4, 2, 'butterfly', true) },
  { block: 'pe_array', options: small(4, 8, 2, 'crossbar', false, 8) },
  { block: 'pe_array', options: small(4, 8, 2, 'crossbar', true, 8) },
  { block: 'pe_array', options: small(4, 8, 2, 'butterfly', true, 8) },
  { block: 'pe_array', options: small(4, 8, 4, 'butterfly', true, 8) },
  { block: 'pe_array', options: small(8, 8, 2, 'crossbar', false, 8) },
  { block: 'pe_array', options: small(8, 8, 2, 'butterfly', true, 8) },
  { block: 'post_array', options: small(2, 4, 2, 'crossbar', true) },
  { block: 'decode', options: small(4, 8, 2, 'crossbar', true, 8) },
  { block: 'decode', options: small(4, 8, 2, 'butterfly', true, 8) },
  { block: 'controller', options: small(4, 8, 2, 'crossbar', true, 8) },
];

export function fpgaLabel(t: FpgaTarget): string {
  const o = t.options;
  const what = t.block === 'accelerator' ? 'accelerator' : t.block.replace('_', '-');
  return `${what} ${o.rows}×${o.cols} W${o.wbits} B${o.ublock} ${o.outliers ? o.recon : 'plain'}${t.block === 'accelerator' || t.block === 'post_array' ? ` D${o.depth}` : ''}`;
}

export function fpgaMarkdown(results: FpgaResult[], devices: Ice40Device[]): string {
  const head =
    `| design | LUTs | flip-flops | carries | wrapped LUTs / FFs | ${devices.map((d) => `${ICE40_DEVICES[d].name}: logic cells, Fmax`).join(' | ')} |\n` +
    `|---|--:|--:|--:|--:|${devices.map(() => '---').join('|')}|\n`;
  const rows = results.map((r) => {
    const cells = devices.map((d) => {
      const p = r.pnr[d];
      if (!p) return '—';
      if (!p.fits) return `does not fit (${p.message ?? ''})`;
      return `${p.logicCells} (${((p.utilization ?? 0) * 100).toFixed(0)}%), ${p.fmaxMhz?.toFixed(1)} MHz`;
    });
    return `| ${fpgaLabel(r)} | ${r.accel.luts} | ${r.accel.flops} | ${r.accel.carries} | ${r.total.luts} / ${r.total.flops} | ${cells.join(' | ')} |`;
  });
  return head + rows.join('\n') + '\n';
}

