/**
 * iCE40 fit and Fmax of small accelerator configurations (run through
 * scripts/fpga-ice40.sh, which installs nextpnr-ice40 and fpga-icestorm when
 * they are missing):
 *
 *   bash scripts/fpga-ice40.sh [--json FILE] [--devices up5k,hx8k] [--jobs 2] [--freq 12] [--only 0,2]
 *
 * For each configuration: synth_ice40 (perf/fpga.ts explains the four-pin
 * wrapper), nextpnr-ice40 on each device, icepack of the first device that
 * fits (a bitstream proves the flow ends). Prints a markdown table.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fpgaFlow, fpgaLabel, fpgaMarkdown, pnrAscFile, FPGA_TARGETS, ICE40_DEVICES, type Ice40Device } from '../perf/fpga.ts';
import { mapPool, runAsync } from '../perf/exec.ts';
import { writeFileAtomically } from '../common/output-path.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const devices = (arg('--devices') ?? 'up5k,hx8k').split(',').map((d) => {
    if (!(d in ICE40_DEVICES)) throw new Error(`--devices: ${d} is not one of ${Object.keys(ICE40_DEVICES).join(', ')}`);
    return d as Ice40Device;
  });
  const jobs = Number(arg('--jobs') ?? '2');
  const freq = Number(arg('--freq') ?? '12');
  const only = arg('--only');
  const targets = only ? only.split(',').map((i) => FPGA_TARGETS[Number(i)]!) : FPGA_TARGETS;
  const work = 'build/fpga-ice40';
  const t0 = performance.now();
  const results = await mapPool(targets, jobs, async (t, i) => {
    const dir = join(work, `t${i}`);
    const r = await fpgaFlow(t, dir, devices, freq);
    const fit = devices.find((d) => r.pnr[d]?.fits);
    // a bitstream of the first device that fits, to show the flow goes to the end
    if (fit && existsSync(join(dir, pnrAscFile(fit)))) await runAsync('icepack', [pnrAscFile(fit), 'wrap.bin'], dir);
    process.stderr.write(
      `fpga-ice40: ${fpgaLabel(t)}: ${r.accel.luts} LUTs, ${r.accel.flops} FFs; ${devices.map((d) => `${d} ${r.pnr[d]?.fits ? `fits, ${r.pnr[d]?.fmaxMhz?.toFixed(1)} MHz` : 'does not fit'}`).join(', ')}\n`,
    );
    return r;
  });
  const out = fpgaMarkdown(results, devices);
  process.stdout.write(out);
  const json = arg('--json');
  if (json) {
    writeFileAtomically(
      json,
      JSON.stringify(
        {
          tools: { yosys: (await runAsync('yosys', ['-V'], '.')).stdout.trim(), nextpnr: (await runAsync('nextpnr-ice40', ['--version'], '.')).output.trim() },
          freq_target_mhz: freq,
          elapsed_s: (performance.now() - t0) / 1000,
          results: results.map((r) => ({ label: fpgaLabel(r), ...r })),
        },
        null,
        2,
      ) + '\n',
    );
  }
}

await main();
