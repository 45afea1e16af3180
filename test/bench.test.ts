import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runMsq, tmpDir } from './helpers.ts';
import { breakdown, categoryOf, parseStat } from '../perf/area.ts';
import { cellAreaGe, isFlop } from '../perf/cell-area.ts';
import { OUTLIER_RATES, rtlDigest, sweepOptions, type BenchReport } from '../perf/bench.ts';
import { createHash } from 'node:crypto';
import { writeRtlFiles } from '../generator/emit.ts';
import { throughputShape, PASS_BEATS_LIMIT } from '../perf/throughput.ts';
import { wrapperVerilog, FPGA_TARGETS } from '../perf/fpga.ts';
import { buildTop } from '../generator/targets.ts';
import { lineChartSvg, stackedBarsSvg, logTicks } from '../perf/plot.ts';
import { run } from '../testbench/tools.ts';

const STAT = `
=== msq_accel_r2c4_top ===

   Number of wires:                 10
   Number of wire bits:             20
   Number of cells:                  6
     $_AND_                          2
     $_SDFFE_PN0P_                   1
     $paramod$0123abcd\\msq_pe_w2a8_acc11_np      2
     msq_post_array_c4                1

=== $paramod$0123abcd\\msq_pe_w2a8_acc11_np ===

   Number of cells:                  3
     $_DFF_P_                        1
     $_XOR_                          2

=== msq_post_array_c4 ===

   Number of cells:                  2
     $_MUX_                          1
     msq_fp32_add                    1

=== msq_fp32_add ===

   Number of cells:                  1
     $_NOT_                          1

=== design hierarchy ===

   msq_accel_r2c4_top      1
     Number of cells:                 12
`;

describe('area accounting', () => {
  it('parses Yosys stat and multiplies module cells by instance counts, per block', () => {
    const stat = parseStat(STAT);
    expect([...stat.keys()]).toEqual(['msq_accel_r2c4_top', '$paramod$0123abcd\\msq_pe_w2a8_acc11_np', 'msq_post_array_c4', 'msq_fp32_add']);
    const b = breakdown(stat, 'msq_accel_r2c4_top');
    expect(b.cells).toEqual({ total: 3 + 2 * 3 + 1 + 1, pe_array: 6, recon: 0, decode: 0, post: 2, control: 3 });
    expect(b.flops).toEqual({ total: 3, pe_array: 2, recon: 0, decode: 0, post: 0, control: 1 });
    expect(b.ge.pe_array).toBeCloseTo(2 * (5.67 + 2 * 2.0), 6);
    expect(b.ge.total).toBeCloseTo(2 * 1.33 + 9.33 + 2 * (5.67 + 4) + 2.33 + 0.67, 6);
  });

  it('maps every generated module to a block and every gate type to an area', () => {
    expect(categoryOf('$paramod$ab\\msq_recon_switch_m9_l1')).toBe('recon');
    expect(categoryOf('msq_pe_array_r4c8_plain')).toBe('pe_array');
    expect(categoryOf('msq_int2fp32_i27_e10')).toBe('post');
    expect(categoryOf('msq_fifo_w256_d16')).toBe('control');
    expect(categoryOf('msq_skid_w72')).toBe('control');
    expect(() => categoryOf('msq_mystery')).toThrow(/no block/);
    for (const c of ['crossbar', 'butterfly'] as const) {
      for (const outliers of [true, false]) {
        const g = buildTop({ top: 'accelerator', accel: { rows: 4, cols: 8, wbits: 2, abits: 8, ublock: 4, group: 32, recon: c, outliers, depth: 4 } });
        for (const m of g.design.modules) expect(() => categoryOf(m.name)).not.toThrow();
      }
    }
    expect(cellAreaGe('$_SDFFE_PP0N_')).toBe(9.33);
    expect(cellAreaGe('$_SDFF_PN0_')).toBe(7.0);
    expect(cellAreaGe('$_DFFE_PP_')).toBe(8.0);
    expect(() => cellAreaGe('$_FOO_')).toThrow(/no area/);
    expect(isFlop('$_SDFFCE_PN0P_')).toBe(true);
    expect(isFlop('$_MUX_')).toBe(false);
  });

  it("the accelerator's buffers reach synthesis as memories: the post-array unit's ibuf, fbuf and row_last, and no others", () => {
    // A word-indexed read of a flat vector would become a $shiftx that Yosys 0.23 expands over
    // every bit (minutes for a 32×32 array's old result FIFO); RAMs are mapped as words. The
    // results wait in fbuf: there is no result FIFO. The activation input stage is a skid
    // buffer (two registers of R·a + 8 = 2·8 + 8 bits), not a memory.
    const dir = tmpDir();
    const out = join(dir, 'rtl');
    expect(runMsq(['generate', '--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '2', '--out', out]).status).toBe(0);
    const files = readFileSync(join(out, 'filelist.f'), 'utf8').split('\n').filter((f) => f.endsWith('.v'));
    expect(files.some((f) => f.startsWith('msq_fifo_'))).toBe(false);
    expect(files.filter((f) => f.startsWith('msq_skid_'))).toEqual(['msq_skid_w24.v']);
    const top = files.at(-1)!.replace(/\.v$/, '');
    const script = [`read_verilog ${files.join(' ')}`, `hierarchy -top ${top}`, 'proc', 'flatten', 'opt', 'memory -nomap', 'select -list t:$mem_v2'].join('; ');
    const r = run('yosys', ['-p', script], out);
    expect(r.ok, r.output.slice(-3000)).toBe(true);
    const mems = r.output.split('\n').filter((l) => l.startsWith(`${top}/`)).map((l) => l.slice(top.length + 1)).sort();
    expect(mems).toEqual(['u_post.fbuf', 'u_post.ibuf', 'u_post.row_last']);
  });
});

describe('--resume stamps of synthesis jobs', () => {
  it('digest the RTL that the flows read: the same for the same configuration, different when one option changes it', () => {
    const a = sweepOptions(4, 8, 2, 'crossbar', true, 16);
    const dir = tmpDir();
    const files = writeRtlFiles(dir, buildTop({ top: 'accelerator', accel: a }).design);
    const h = createHash('sha256');
    for (const f of files) h.update(f + '\0').update(readFileSync(join(dir, f), 'utf8')).update('\0');
    expect(rtlDigest(a)).toBe(h.digest('hex')); // the files a sign-off run writes and synthesizes
    expect(rtlDigest({ ...a })).toBe(rtlDigest(a));
    const others = [sweepOptions(4, 8, 4, 'crossbar', true, 16), sweepOptions(4, 8, 2, 'butterfly', true, 16), sweepOptions(4, 8, 2, 'crossbar', false, 16), sweepOptions(4, 8, 2, 'crossbar', true, 32), { ...a, adders: 'carry' as const }, { ...a, decodeRate: 'half' as const }];
    const digests = new Set([a, ...others].map(rtlDigest));
    expect(digests.size).toBe(others.length + 1);
  });
});

describe('throughput problems', () => {
  it('keep a pass to at most PASS_BEATS_LIMIT beats, K a multiple of G and N whole tiles', () => {
    for (const [r, c] of [[4, 8], [8, 8], [16, 16], [32, 32]] as const) {
      for (const M of [16, 64, 256]) {
        const o = sweepOptions(r, c, 4, 'crossbar', true, 256);
        const s = throughputShape(o, M, 1024, 2);
        expect((s.K / r) * Math.min(M, o.depth)).toBeLessThanOrEqual(PASS_BEATS_LIMIT);
        // the cut only applies where the pass would be longer
        if ((1024 / r) * Math.min(M, o.depth) <= PASS_BEATS_LIMIT) expect(s.K).toBe(1024);
        expect(s.K % o.group).toBe(0);
        expect(s.N).toBe(2 * c);
      }
    }
  });
});

describe('plots and the FPGA wrapper', () => {
  it('draws line and stacked-bar charts as SVG', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', xLog: true, yLog: true, series: [{ name: 'a', color: '#000', points: [{ x: 32, y: 100 }, { x: 1024, y: 5000 }] }], hLines: [{ y: 1000, label: 'goal' }] });
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('<polyline');
    expect(svg).toContain('goal');
    const bars = stackedBarsSvg({ title: 'b', yLabel: 'GE', series: [{ name: 's1', color: '#111' }, { name: 's2', color: '#222' }], groups: [{ label: 'g', bars: [{ label: 'x', values: [1, 2] }] }] });
    expect((bars.match(/<rect x="[0-9.]+" y="[0-9.]+" width/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(logTicks(30, 1100).map((t) => t.value)).toEqual([50, 100, 200, 500, 1000]);
  });

  it('wraps a block with four pins: every input bit on the chain, every output bit observed', () => {
    const t = FPGA_TARGETS[0]!;
    const g = buildTop({ top: 'accelerator', accel: t.options });
    const v = wrapperVerilog(g.design.top);
    const ins = g.design.top.ports.filter((p) => p.kind === 'input' && p.name !== 'clk' && p.name !== 'rst_n').reduce((s, p) => s + p.width.value, 0);
    const outs = g.design.top.ports.filter((p) => p.kind === 'output').reduce((s, p) => s + p.width.value, 0);
    expect(v).toContain(`reg  [${ins - 1}:0] chain;`);
    expect(v).toContain(`wire [${outs - 1}:0] observed;`);
    const dir = tmpDir();
    // the same build as the FPGA target (its adder style and decode rate included: the module names follow them)
    const gen = runMsq(['generate', '--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '2', '--no-outliers', '--adders', t.options.adders ?? 'prefix', '--decode-rate', t.options.decodeRate ?? 'full', '--out', join(dir, 'rtl')]);
    expect(gen.status).toBe(0);
    writeFileSync(join(dir, 'rtl', 'msq_fpga_wrap.v'), v);
    const files = readFileSync(join(dir, 'rtl', 'filelist.f'), 'utf8').trim().split('\n');
    const lint = run('verilator', ['--lint-only', '-Wall', '--top-module', 'msq_fpga_wrap', ...files, 'msq_fpga_wrap.v'], join(dir, 'rtl'));
    expect(lint.output).toBe('');
  });
});

describe('ASIC hand-off', () => {
  it('writes a generic netlist, the SDC, and a netlist mapped to a Liberty file with its area', () => {
    const dir = tmpDir();
    const out = join(dir, 'asic');
    const r = spawnSync('bash', [join(repoRoot, 'scripts/asic-synth.sh'), '--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '2', '--liberty', join(repoRoot, 'perf/liberty/msq-ge.lib'), '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-3000)).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { top: string; netlists: { generic: string; mapped: string }; sdc: string; liberty: { area: number }; cells: { total: number } };
    expect(s.top).toBe('msq_accel_r2c4_w2a8_g32_xbar_b4_d2');
    expect(readFileSync(join(out, s.netlists.generic), 'utf8')).toMatch(/module msq_accel_r2c4/);
    expect(readFileSync(join(out, s.netlists.mapped), 'utf8')).toMatch(/\bDFF\b/);
    expect(readFileSync(join(out, s.sdc), 'utf8')).toMatch(/create_clock -name clk -period 5\.000/);
    expect(s.liberty.area).toBeGreaterThan(1000);
    expect(s.cells.total).toBeGreaterThan(1000);
    expect(r.stdout).toMatch(/mapped netlist: .* area [0-9.]+/);
  });
});

describe('npm run bench -- --quick --json FILE (msq bench --quick --json, then the quantizer benches)', () => {
  it('writes the documented JSON with sane numbers', () => {
    const dir = tmpDir();
    const json = join(dir, 'bench.json');
    mkdirSync(join(dir, 'work'), { recursive: true });
    // --no-signoff: the SKY130 sign-off flow has its own CI-sized test (test/signoff.test.ts); here it would add a 4x8 synthesis
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/bench.ts'), '--quick', '--no-signoff', '--json', json, '--work', join(dir, 'work')], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 900_000,
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(existsSync(json)).toBe(true);
    const b = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(b.configs.length).toBeGreaterThanOrEqual(2);
    for (const c of b.configs) {
      expect(typeof c.rows).toBe('number');
      expect(typeof c.cols).toBe('number');
      expect([2, 4]).toContain(c.wbits);
      expect(['crossbar', 'butterfly']).toContain(c.recon);
      const blocks = ['pe_array', 'recon', 'decode', 'post', 'control'] as const;
      expect(Object.keys(c.cells).sort()).toEqual(['control', 'decode', 'pe_array', 'post', 'recon', 'total']);
      for (const k of [...blocks, 'total'] as const) expect(c.cells[k], k).toBeGreaterThan(0);
      expect(blocks.reduce((s, k) => s + c.cells[k], 0)).toBeCloseTo(c.cells.total, 6);
      expect(c.plain.cells.recon).toBe(0);
      expect(Number.isFinite(c.outlier_overhead)).toBe(true);
      expect(c.outlier_overhead).toBeGreaterThan(0); // outlier support costs something
      expect(Object.keys(c.utilization).sort()).toEqual(OUTLIER_RATES.map(String).sort());
      expect(Object.keys(c.utilization)).toEqual(['0', '0.01', '0.02', '0.05', '0.09']);
      for (const u of Object.values(c.utilization)) {
        expect(u).toBeGreaterThan(0);
        expect(u).toBeLessThanOrEqual(1);
      }
    }
    expect(b.generate_64x64_s).toBeGreaterThan(0);
    expect(b.quantize_melem_per_s.mxfp4_e2m1).toBeGreaterThan(0);
    expect(b.quantize_melem_per_s.microscopiq).toBeGreaterThan(0);
    expect(b.failures).toEqual([]);
    // the markdown report and the quantizer scripts ran too
    expect(r.stdout).toMatch(/## Utilization/);
    expect(r.stdout).toMatch(/# bench-quant\.ts[\s\S]*mxfp4_e2m1 quantize/);
    expect(r.stdout).toMatch(/# bench-microscopiq\.ts[\s\S]*MicroScopiQ benchmark, 1024x1024/);
    expect(r.stdout).not.toMatch(/Hessian mode/);
    // --resume in the same folder reuses every synthesis and simulation, and reports the same numbers
    const json2 = join(dir, 'bench2.json');
    const again = spawnSync(process.execPath, [join(repoRoot, 'bin/msq.mjs'), 'bench', '--quick', '--no-signoff', '--resume', '--json', json2, '--work', join(dir, 'work')], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
    expect(again.status, again.stderr.slice(-3000)).toBe(0);
    const b2 = JSON.parse(readFileSync(json2, 'utf8')) as BenchReport;
    expect(b2.jobs.total).toBe(b.jobs.total);
    expect(b2.jobs.reused).toBe(b.jobs.total);
    expect(b2.configs.map((c) => [c.cells, c.utilization])).toEqual(b.configs.map((c) => [c.cells, c.utilization]));
  }, 900_000); // as long as the spawn limit: a quick bench on a loaded 2-core machine can pass 300 s
});
