/**
 * The Liberty library of the sign-off flow: where the default comes from, the
 * check of a user's `--liberty`, and the synthesis view that keeps ABC away
 * from cells that are not general-purpose logic.
 *
 * Default: the SkyWater SKY130 high-density library, typical corner (tt,
 * 25 °C, 1.80 V), at ../shared/pdk/sky130hd/ beside the project. On a machine
 * without it, `--liberty` names the file; SKY130 HD comes from the open_pdks
 * build of the SkyWater PDK (sky130A/libs.ref/sky130_fd_sc_hd/lib/) or, as one
 * file, from OpenSTA's examples/sky130hd_tt.lib.gz (the same typical corner).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../common/errors.ts';
import { PROJECT_ROOT } from '../common/output-path.ts';

export const DEFAULT_LIBERTY_NAME = 'sky130_fd_sc_hd__tt_025C_1v80.lib';

/** ../shared/pdk/sky130hd/sky130_fd_sc_hd__tt_025C_1v80.lib, relative to the project root. */
export const DEFAULT_LIBERTY = resolve(PROJECT_ROOT, '..', 'shared', 'pdk', 'sky130hd', DEFAULT_LIBERTY_NAME);

/** Where a user gets SKY130 HD (printed when no library is found). */
export const SKY130_HINT =
  `SKY130 HD (Apache-2.0) is the ${DEFAULT_LIBERTY_NAME} of the sky130_fd_sc_hd library: ` +
  'install open_pdks (https://github.com/RTimothyEdwards/open-pdks; the file is in sky130A/libs.ref/sky130_fd_sc_hd/lib/) ' +
  'or gunzip examples/sky130hd_tt.lib.gz of OpenSTA (https://github.com/The-OpenROAD-Project/OpenSTA), the same library, ' +
  `then pass --liberty FILE.lib or put it at ${DEFAULT_LIBERTY}`;

/** The default library when it is present on this machine, else undefined. */
export function defaultLiberty(): string | undefined {
  return existsSync(DEFAULT_LIBERTY) ? DEFAULT_LIBERTY : undefined;
}

/**
 * The library to use: `flagValue` (checked: a readable Liberty file) or the
 * default SKY130 HD file. InputError when neither is there, naming where to get SKY130.
 */
export function resolveLiberty(flagValue: string | undefined): string {
  if (flagValue === undefined) {
    const d = defaultLiberty();
    if (d === undefined) throw new InputError(`no Liberty library: ${DEFAULT_LIBERTY} is not on this machine and --liberty was not given. ${SKY130_HINT}`);
    return d;
  }
  const path = resolve(flagValue);
  const refuse = (why: string): never => {
    throw new InputError(`--liberty ${JSON.stringify(flagValue)}: ${why}; name a Liberty file (FILE.lib), e.g. ${DEFAULT_LIBERTY_NAME}. ${SKY130_HINT}`);
  };
  if (!existsSync(path)) refuse('no such file');
  if (!statSync(path).isFile()) refuse('is not a file');
  let head = '';
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    refuse('cannot be read');
  }
  if (!/^\s*library\s*\(/m.test(head)) refuse('is not a Liberty library (no "library (" group at its start)');
  return path;
}

/** The library's name for reports: the file name without .lib. */
export function libraryName(path: string): string {
  return basename(path).replace(/\.lib$/, '');
}

/**
 * Cells ABC must not use: power management (lpflow isolation, level shifters,
 * keep-alive buffers), probes, delay cells (for hold fixing), tristate
 * drivers, and physical-only cells. Patterns match the cell name anywhere, so
 * they work for SKY130 and do nothing for a library without such cells.
 */
export const DONT_USE_PATTERNS: readonly RegExp[] = [/lpflow/, /probe/, /dlygate/, /dlymetal/, /clkdlybuf/, /__ebufn/, /__einv[np]/, /__diode/, /__fill/, /__tap/, /__decap/];

/**
 * The synthesis view of a library: the same text with `dont_use : true;` in
 * every cell DONT_USE_PATTERNS names (ABC skips such cells). Timing analysis
 * and area read the original file.
 */
export function synthesisView(libText: string): { text: string; dontUse: string[] } {
  const dontUse: string[] = [];
  const text = libText.replace(/^(\s*cell\s*\(\s*"?([A-Za-z0-9_$]+)"?\s*\)\s*\{)/gm, (whole, _head: string, name: string) => {
    if (!DONT_USE_PATTERNS.some((p) => p.test(name))) return whole;
    dontUse.push(name);
    return `${whole}\n    dont_use : true;`;
  });
  return { text, dontUse };
}

/** Names of the library's cells (in file order). */
export function libraryCells(libText: string): string[] {
  return [...libText.matchAll(/^\s*cell\s*\(\s*"?([A-Za-z0-9_$]+)"?\s*\)/gm)].map((m) => m[1]!);
}

/**
 * The cell that drives the design's inputs in ABC's constraints and in timing
 * analysis: SKY130's inv_2 (as OpenLane uses), else a size-2 inverter, else
 * any inverter of the library, else none.
 */
export function drivingCell(cells: readonly string[], dontUse: readonly string[] = []): string | undefined {
  const ok = cells.filter((c) => !dontUse.includes(c));
  return ok.find((c) => c === 'sky130_fd_sc_hd__inv_2') ?? ok.find((c) => /inv_?x?2$/i.test(c)) ?? ok.find((c) => /inv/i.test(c) && !/clk/i.test(c));
}

/** Tie-high/tie-low cell of the library as `hilomap` arguments, when it has one (SKY130: conb_1 HI/LO). */
export function tieCell(cells: readonly string[]): { cell: string; hi: string; lo: string } | undefined {
  const conb = cells.find((c) => /__conb_1$/.test(c));
  return conb ? { cell: conb, hi: 'HI', lo: 'LO' } : undefined;
}

/** A buffer for `insbuf` (net-to-net connections of the netlist), when the library is SKY130 HD (buf_2); other libraries keep them as `assign`s. */
export function bufferCell(cells: readonly string[]): { cell: string; in: string; out: string } | undefined {
  return cells.includes('sky130_fd_sc_hd__buf_2') ? { cell: 'sky130_fd_sc_hd__buf_2', in: 'A', out: 'X' } : undefined;
}

/** Default file name of the synthesis view in a work folder. */
export function synthesisViewPath(work: string, libPath: string): string {
  return join(work, `${libraryName(libPath)}.synth.lib`);
}
