/**
 * msq signoff (perf/signoff.ts): Yosys to SKY130 HD with timing-driven ABC,
 * then OpenSTA. One small accelerator (2x4 W2, B = 4, D = 4: about a minute
 * of Yosys) for the JSON and the register names, the PE alone for --check
 * (seconds), and the flag checks (no tool runs).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, runMsq, tmpDir } from './helpers.ts';
import { defaultLiberty, synthesisView, drivingCell, resolveLiberty } from '../perf/signoff-library.ts';
import { parsePaths, parseStaOutput, rtlName } from '../perf/signoff-sta.ts';
import { abcScript, parseLibertyStat } from '../perf/signoff-yosys.ts';
import type { SignoffReport } from '../perf/signoff.ts';
import { benchDefaults, signoffSweep } from '../perf/bench.ts';
import { checkMessage, signoffTable } from '../perf/signoff-format.ts';

const haveLibrary = defaultLiberty() !== undefined;

/** Is `point` (`u_post.fbuf[0][13]`, `meta_pipe[38]`) a register or port of the generated RTL? */
function existsInRtl(point: string, rtlDir: string): boolean {
  const texts = readdirSync(rtlDir)
    .filter((f) => f.endsWith('.v'))
    .map((f) => readFileSync(join(rtlDir, f), 'utf8'));
  const all = texts.join('\n');
  const parts = point.split('.');
  const base = parts[parts.length - 1]!.replace(/\[.*$/, '');
  // every instance on the way is instantiated somewhere (generate labels g_* are loop names)
  for (const p of parts.slice(0, -1)) {
    const name = p.replace(/\[.*$/, '');
    if (name.startsWith('g_')) {
      if (!new RegExp(`begin\\s*:\\s*${name}\\b`).test(all)) return false;
    } else if (!new RegExp(`\\)?\\s${name}\\s*\\(`).test(all)) return false;
  }
  return new RegExp(`^\\s*(reg|wire|input|output)\\b[^;\\n]*\\b${base}\\b`, 'm').test(all);
}

describe.skipIf(!haveLibrary)('msq signoff on SKY130 HD', () => {
  const dir = tmpDir('msq-signoff-');

  it('2x4 W2 B=4 D=4 accelerator: the JSON has every key with sane values and the critical path names RTL registers', () => {
    const json = join(dir, 'a.json');
    const work = join(dir, 'w-accel');
    // about 2 minutes on an idle 2-core machine, 9 on a loaded one: the spawn and the test get 15
    const r = runMsq(['signoff', '--rows', '2', '--cols', '4', '--wbits', '2', '--ublock', '4', '--depth', '4', '--json', json, '--work', work], undefined, 900_000);
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const s = JSON.parse(readFileSync(json, 'utf8')) as SignoffReport;
    for (const k of ['fmax_mhz', 'wns_ns', 'period_ns', 'area_um2', 'area_um2_by_block', 'critical_path', 'power_mw', 'library', 'config', 'tools', 'worst_paths', 'block_paths', 'seconds']) expect(s, k).toHaveProperty(k);
    expect(s.period_ns).toBe(4);
    expect(s.flow.synth_target_ns).toBe(3); // ABC's target: the period minus 25 %
    expect(readFileSync(join(work, 'abc.script'), 'utf8')).toContain('&nf -D 3000');
    expect(s.fmax_mhz).toBeGreaterThan(0);
    expect(s.fmax_mhz).toBeCloseTo(1000 / (s.period_ns - s.worst_slack_ns), 1);
    expect(s.wns_ns).toBeLessThanOrEqual(0);
    expect(s.wns_ns).toBeCloseTo(Math.min(0, s.worst_slack_ns), 6);
    expect(s.met).toBe(s.worst_slack_ns >= 0);
    expect(s.area_um2).toBeGreaterThan(1000);
    expect(Object.keys(s.area_um2_by_block).sort()).toEqual(['top', 'u_a_in', 'u_array', 'u_ctrl', 'u_decode', 'u_post']);
    // the post-array unit's fp32 units are synthesized once each, as modules of their own (the int->fp32 one is parameterized)
    expect(s.flow.hierarchy).toMatch(/units synthesized on their own \(msq_int2fp32_i\d+_e10, msq_fp32_add\)/);
    expect(readFileSync(join(work, 'synth.ys'), 'utf8')).toMatch(/setattr -mod -set keep_hierarchy 1 .*\$paramod\*\\msq_int2fp32_i\d+_e10 msq_fp32_add\n/);
    for (const v of Object.values(s.area_um2_by_block)) expect(v).toBeGreaterThan(0);
    const sum = Object.values(s.area_um2_by_block).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - s.area_um2) / s.area_um2).toBeLessThan(0.001);
    expect(s.flops).toBeGreaterThan(100);
    expect(s.library.name).toBe('sky130_fd_sc_hd__tt_025C_1v80');
    expect(s.config).toMatchObject({ rows: 2, cols: 4, wbits: 2, ublock: 4, depth: 4 });
    expect(s.tools.yosys).toMatch(/^Yosys \d/);
    expect(s.tools.sta).toMatch(/^OpenSTA \d/);
    expect(s.sta_messages).toEqual([]); // every constraint and report command ran
    if (s.power_mw === null) expect(s.power_reason).toBeTruthy();
    else {
      expect(s.power_mw).toBeGreaterThan(0);
      expect(s.power?.activity).toBe(0.1);
    }
    // the critical path: RTL registers (hierarchical names), not Yosys numbers
    const cp = s.critical_path!;
    expect(cp.delay_ns).toBeGreaterThan(0);
    expect(cp.slack_ns).toBeCloseTo(s.worst_slack_ns, 3);
    expect(cp.from_kind).toBe('register');
    expect(cp.to_kind).toBe('register');
    for (const p of [cp.from, cp.to]) {
      expect(p).not.toMatch(/\$|(^|\.)_\d+_/);
      expect(existsInRtl(p, join(work, 'rtl')), p).toBe(true);
    }
    expect(cp.to).toMatch(/^u_[a-z]+\./); // inside a block, with its instance name
    expect(Object.keys(s.block_paths)).toContain('u_post');
    for (const p of Object.values(s.block_paths)) if (p.from_kind === 'register') expect(existsInRtl(p.from, join(work, 'rtl')), p.from).toBe(true);
    // the summary on stdout, each stage with its time on stderr
    expect(r.stdout).toMatch(/# msq signoff: msq_accel_r2c4_w2a8_g32_xbar_b4_d4/);
    expect(r.stdout).toMatch(/Fmax = 1 \/ \(period − worst slack\) \| \*\*[0-9.]+ MHz\*\*/);
    expect(r.stdout).toMatch(/switching activity 0\.1/);
    expect(r.stderr).toMatch(/msq signoff: \[[0-9.]+ s\] yosys: done in [0-9.]+ s/);
    expect(r.stderr).toMatch(/msq signoff: \[[0-9.]+ s\] sta: done in [0-9.]+ s/);
    expect(existsSync(join(work, `${s.top}.netlist.v`))).toBe(true);
  }, 900_000);

  it('an impossible period with --check exits 1 with the slack and the path (PE alone)', () => {
    const r = runMsq(['signoff', '--top', 'pe', '--period', '0.05', '--check', '--json', join(dir, 'pe-fail.json'), '--work', join(dir, 'w-pe-fail')]);
    expect(r.status, r.stderr.slice(-2000)).toBe(1);
    expect(r.stderr).toMatch(/^msq: error: timing check failed: worst slack -[0-9.]+ ns at a 0\.05 ns period \(Fmax [0-9.]+ MHz\) on \S+ -> \S+/m);
    const s = JSON.parse(readFileSync(join(dir, 'pe-fail.json'), 'utf8')) as SignoffReport;
    expect(s.met).toBe(false);
    expect(s.wns_ns).toBeLessThan(0);
    expect(r.stdout).toMatch(/VIOLATED/);
  });

  it('a generous period passes --check (PE alone)', () => {
    const r = runMsq(['signoff', '--top', 'pe', '--wbits', '2', '--period', '20', '--synth-margin', '0', '--check', '--json', join(dir, 'pe-ok.json'), '--work', join(dir, 'w-pe-ok')]);
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(join(dir, 'w-pe-ok', 'abc.script'), 'utf8')).toContain('&nf -D 20000'); // no margin: ABC aims at the period
    const s = JSON.parse(readFileSync(join(dir, 'pe-ok.json'), 'utf8')) as SignoffReport;
    expect(s.met).toBe(true);
    expect(s.wns_ns).toBe(0);
    expect(s.worst_slack_ns).toBeGreaterThan(0);
    expect(s.fmax_mhz).toBeGreaterThan(50);
    expect(s.area_um2_by_block).toEqual({ top: s.area_um2 });
    expect(s.top).toMatch(/^msq_pe_w2a8/);
  });
});

describe('msq signoff flags', () => {
  const dir = tmpDir('msq-signoff-flags-');

  it('refuses a bad --liberty with exit 2, saying where SKY130 comes from, before any work', () => {
    const work = join(dir, 'w-none');
    const r = runMsq(['signoff', '--top', 'pe', '--liberty', join(dir, 'missing.lib'), '--work', work]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^msq: error: --liberty ".*missing\.lib": no such file/);
    expect(r.stderr).toMatch(/open_pdks|skywater-pdk/);
    expect(existsSync(work)).toBe(false);
    const junk = join(dir, 'junk.lib');
    writeFileSync(junk, 'not a library\n');
    const j = runMsq(['signoff', '--top', 'pe', '--liberty', junk, '--work', work]);
    expect(j.status).toBe(2);
    expect(j.stderr).toMatch(/is not a Liberty library/);
  });

  it('a missing OpenSTA is an msq: error (exit 1) that says how to install it', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const t of ['yosys', 'yosys-abc']) if (existsSync(`/usr/bin/${t}`)) symlinkSync(`/usr/bin/${t}`, join(bin, t));
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin/msq.mjs'), 'signoff', '--top', 'pe', '--liberty', join(repoRoot, 'perf/liberty/msq-ge.lib'), '--work', join(dir, 'w-nosta')], { encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^msq: error: sta -version: sta is not installed or not on PATH \(bash scripts\/setup\.sh installs the tools\)$/m);
  });

  it('refuses bad values with the allowed range', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--period', '0'], /--period "0" is out of range: allowed numbers 0\.01\.\.1000/],
      [['--period', '4ns'], /--period "4ns" is out of range: allowed numbers 0\.01\.\.1000/],
      [['--activity', '3'], /--activity "3" is out of range: allowed numbers 0\.\.2/],
      [['--synth-margin', '2.5'], /--synth-margin "2\.5" is out of range: allowed numbers 0\.\.2/],
      [['--timeout', '0'], /--timeout 0 is out of range: allowed integers 1\.\.1440/],
      [['--json', join(dir, 'x.txt')], /--json .*name the file FILE\.json/],
      [['--rows', '2', '--wbits', '3'], /--wbits 3 is not supported/],
      [['--top', 'pe', '--rows', '4'], /--rows does not apply to --top pe/],
    ];
    for (const [args, message] of cases) {
      const r = runMsq(['signoff', ...args, '--work', join(dir, 'w-flags')]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(existsSync(join(dir, 'w-flags'))).toBe(false);
  });
});

describe('sign-off helpers', () => {
  it('reads OpenSTA paths: RTL names, kinds, delay from the launching edge, logic depth', () => {
    const text = `Startpoint: meta_pipe[38]_reg (rising edge-triggered flip-flop clocked by clk)
Endpoint: u_post/fbuf[0][13]_reg
          (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max

    Delay      Time   Description
-------------------------------------------------------------
   0.0000    0.0000   clock clk (rise edge)
   0.0000    0.0000   clock network delay (ideal)
   0.0000    0.0000 ^ meta_pipe[38]_reg/CLK (sky130_fd_sc_hd__dfxtp_1)
   0.4780    0.4780 ^ meta_pipe[38]_reg/Q (sky130_fd_sc_hd__dfxtp_1)
   0.2060    0.6840 ^ u_post/_19523_/X (sky130_fd_sc_hd__buf_6)
   0.4920    1.1770 v u_post/_24149_/X (sky130_fd_sc_hd__mux4_2)
   0.0030    1.1800 v u_post/fbuf[0][13]_reg/D (sky130_fd_sc_hd__dfxtp_1)
             1.1800   data arrival time

   4.0000    4.0000   clock clk (rise edge)
  -0.1000    3.9000   library setup time
             3.9000   data required time
-------------------------------------------------------------
             3.9000   data required time
            -1.1800   data arrival time
-------------------------------------------------------------
             2.7200   slack (MET)

Startpoint: rst_n (input port clocked by clk)
Endpoint: y_valid (output port clocked by clk)
Path Group: clk
Path Type: max

    Delay      Time   Description
-------------------------------------------------------------
   0.0000    0.0000   clock clk (rise edge)
   0.8000    0.8000 ^ input external delay
   0.0100    0.8100 ^ rst_n (in)
   0.1000    0.9100 v _12_/Y (sky130_fd_sc_hd__inv_1)
   0.0000    0.9100 v y_valid (out)
             0.9100   data arrival time
             2.3000   slack (MET)
`;
    const [a, b] = parsePaths(text);
    expect(b).toMatchObject({ from: 'meta_pipe[38]', to: 'u_post.fbuf[0][13]', fromKind: 'register', toKind: 'register', cells: 2, slackNs: 2.72 });
    expect(b!.delayNs).toBeCloseTo(1.18, 6);
    expect(a).toMatchObject({ from: 'rst_n', to: 'y_valid', fromKind: 'input', toKind: 'output', cells: 1, slackNs: 2.3 });
    expect(rtlName('u_array/g_row[0].g_col[1].u_pe.prod_q[3]_reg')).toBe('u_array.g_row[0].g_col[1].u_pe.prod_q[3]');
    const full = `msq-sta: worst-slack\nworst slack 2.3000\nmsq-sta: tns\ntns 0.0000\nmsq-sta: paths\n${text}msq-sta: end-paths\nmsq-sta: no-power this OpenSTA has no report_power command\nmsq-sta: done\n`;
    const s = parseStaOutput(full);
    expect(s.worstSlackNs).toBe(2.3);
    expect(s.power).toBeNull();
    expect(s.powerReason).toMatch(/no report_power/);
  });

  it('marks power-management and delay cells dont_use for ABC; the ABC script buffers and sizes at the target', () => {
    const lib = 'library (x) {\n  cell ("sky130_fd_sc_hd__lpflow_inputiso0n_1") {\n  }\n  cell ("sky130_fd_sc_hd__inv_2") {\n  }\n  cell ("sky130_fd_sc_hd__dlygate4sd1_1") {\n  }\n}\n';
    const v = synthesisView(lib);
    expect(v.dontUse).toEqual(['sky130_fd_sc_hd__lpflow_inputiso0n_1', 'sky130_fd_sc_hd__dlygate4sd1_1']);
    expect(v.text.match(/dont_use : true;/g)!.length).toBe(2);
    expect(drivingCell(['sky130_fd_sc_hd__lpflow_inputiso0n_1', 'sky130_fd_sc_hd__inv_2'], v.dontUse)).toBe('sky130_fd_sc_hd__inv_2');
    const s = abcScript(4000, true);
    expect(s).toMatch(/&nf -D 4000/);
    expect(s).toMatch(/buffer -p; topo; upsize -D 4000; dnsize -D 4000; stime -p/);
    expect(abcScript(4000, false)).not.toMatch(/upsize/);
    expect(() => resolveLiberty(join(repoRoot, 'package.json'))).toThrow(/is not a Liberty library/);
  });

  it('reads stat -liberty per module with the hierarchy total', () => {
    const stat = `=== sub ===

   Number of wires:                 10
   Number of cells:                  3
     sky130_fd_sc_hd__inv_2          2
     sky130_fd_sc_hd__dfxtp_1        1

   Chip area for module '\\sub': 30.000000

=== top ===

   Number of wires:                 10
   Number of cells:                  3
     sky130_fd_sc_hd__nand2_1        2
     sub                             1

   Chip area for module '\\top': 7.500000

=== design hierarchy ===

   top                               1
     sub                             1

   Chip area for top module '\\top': 37.500000
`;
    const s = parseLibertyStat(stat);
    expect(s.topArea).toBe(37.5);
    expect(s.modules.get('sub')).toMatchObject({ cells: 3, area: 30 });
    expect(s.modules.get('top')!.children.get('sub')).toBe(1);
    expect(s.modules.get('top')!.cells).toBe(2);
  });

  it('bench: the sign-off sweep is every area configuration at D = 16 (with outliers per topology, and plain), or the smallest with --quick', () => {
    const all = signoffSweep(benchDefaults(false), false);
    expect(all.length).toBe(4 * 2 * 3);
    expect(all.every((c) => c.depth === 16)).toBe(true);
    expect(all.filter((c) => !c.outliers).length).toBe(8);
    const q = benchDefaults(true);
    expect(signoffSweep(q, true)).toEqual([expect.objectContaining({ rows: 4, cols: 8, wbits: 2, recon: 'crossbar', outliers: true, depth: 16 })]);
    const cp = { from: 'meta_pipe[3]', to: 'u_post.fbuf[0][1]', delay_ns: 20.5, slack_ns: -16.6, from_kind: 'register', to_kind: 'register', cells: 90, startpoint: 'meta_pipe[3]_reg', endpoint: 'u_post/fbuf[0][1]_reg' } as const;
    const report = { fmax_mhz: 48.8, wns_ns: -16.5, worst_slack_ns: -16.5, area_um2: 1234.5, area_um2_by_block: { u_post: 1000, top: 234.5 }, critical_path: cp, power_mw: null, seconds: { generate: 0, yosys: 61, sta: 4, total: 65 } };
    const t = signoffTable([{ label: '4×8 W2', recon: 'crossbar', report }, { label: '8×8 W4', recon: 'plain', report: null }]);
    expect(t).toMatch(/\| 4×8 W2 \| crossbar \| 48\.8 \| -16\.50 \| 1235 \| `meta_pipe\[3\]` → `u_post\.fbuf\[0\]\[1\]` \| 20\.50 \| 90 \| n\/a \| 61 \|/);
    expect(t).toMatch(/\| 8×8 W4 \| plain \| failed \|/);
    expect(checkMessage({ ...report, period_ns: 4, critical_path: cp } as unknown as SignoffReport)).toBe('timing check failed: worst slack -16.500 ns at a 4.00 ns period (Fmax 48.8 MHz) on meta_pipe[3] -> u_post.fbuf[0][1] (20.500 ns, 90 cells)');
  });
});
