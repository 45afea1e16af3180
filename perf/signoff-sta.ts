/**
 * The OpenSTA side of the sign-off flow: the Tcl script (constraints, timing
 * reports, power) and the reader of its output.
 *
 * Constraints, as the SDC that `msq generate` writes, at the sign-off period:
 * one ideal clock on `clk`; every other input arrives, and every output is
 * required, `ioFraction` of the period after/before the clock edge (logic
 * outside the block); inputs are driven by the library's inverter and outputs
 * carry the same load as in ABC's constraints. Post-synthesis: no clock tree,
 * no wires.
 */

export interface StaScriptOptions {
  liberty: string;
  netlist: string;
  top: string;
  periodNs: number;
  /** input and output delay as a fraction of the period */
  ioFraction: number;
  drivingCell?: string;
  loadPf: number;
  /** switching activity of every non-clock net (transitions per clock cycle) and duty */
  activity: number;
  duty: number;
  /** worst paths to report (distinct endpoints) */
  paths: number;
  /** instance names of the top's blocks: the worst path ending in each is reported too (and `top`: the top's own flip-flops and the outputs) */
  blocks: string[];
}

/** Marks the sections of the script's output. */
const MARK = 'msq-sta:';

export function staScript(o: StaScriptOptions): string {
  const io = (o.periodNs * o.ioFraction).toFixed(4);
  return [
    `read_liberty ${o.liberty}`,
    `read_verilog ${o.netlist}`,
    `link_design ${o.top}`,
    `create_clock -name clk -period ${o.periodNs} [get_ports clk]`,
    'set msq_inputs [delete_from_list [all_inputs] [get_ports clk]]',
    `set_input_delay ${io} -clock clk $msq_inputs`,
    `set_output_delay ${io} -clock clk [all_outputs]`,
    ...(o.drivingCell ? [`set_driving_cell -lib_cell ${o.drivingCell} $msq_inputs`] : []),
    `set_load ${o.loadPf} [all_outputs]`,
    `puts "${MARK} worst-slack"`,
    'report_worst_slack -digits 4',
    `puts "${MARK} tns"`,
    'report_tns -digits 4',
    `puts "${MARK} paths"`,
    `report_checks -path_delay max -group_count ${o.paths} -endpoint_count 1 -sort_by_slack -digits 4`,
    `puts "${MARK} end-paths"`,
    // the worst path ending in each block: its flip-flops' data pins, also those of the units kept
    // as modules inside it (one level down); the top: its own flip-flops and the outputs
    ...[...o.blocks, 'top'].flatMap((b) => [
      `set msq_to ${b === 'top' ? '[concat [get_pins -quiet */D] [all_outputs]]' : `[concat [get_pins -quiet ${b}/*/D] [get_pins -quiet ${b}/*/*/D]]`}`,
      `puts "${MARK} block ${b}"`,
      'if {[llength $msq_to] > 0} { report_checks -path_delay max -to $msq_to -group_count 1 -endpoint_count 1 -digits 4 }',
      `puts "${MARK} end-block"`,
    ]),
    `if {[info commands report_power] eq ""} {`,
    `  puts "${MARK} no-power this OpenSTA has no report_power command"`,
    '} else {',
    `  set_power_activity -global -activity ${o.activity} -duty ${o.duty}`,
    `  puts "${MARK} power"`,
    `  if {[catch {report_power -digits 6} msq_err]} { puts "${MARK} no-power report_power failed: $msq_err" }`,
    `  puts "${MARK} end-power"`,
    '}',
    `puts "${MARK} done"`,
    '',
  ].join('\n');
}

export type PointKind = 'register' | 'input' | 'output' | 'other';

export interface TimingPath {
  /** start and end as RTL names: `u_post.acc_q[3]` for the flip-flop of bit 3 of register acc_q in instance u_post, or a port name */
  from: string;
  to: string;
  fromKind: PointKind;
  toKind: PointKind;
  /** the instance or port names as OpenSTA prints them */
  startpoint: string;
  endpoint: string;
  /** data arrival at the endpoint after the launching clock edge (clock-to-Q and logic; for an input, its input delay included) */
  delayNs: number;
  slackNs: number;
  /** cells on the path (its logic depth, the launching flip-flop excluded) */
  cells: number;
}

export interface StaResult {
  worstSlackNs: number;
  tnsNs: number;
  paths: TimingPath[];
  /** the worst path ending in each block (by instance name, and `top`); absent when the block has no timed endpoint */
  blockPaths: Record<string, TimingPath>;
  /** null when this OpenSTA could not report power, with the reason */
  power: { totalW: number; internalW: number; switchingW: number; leakageW: number } | null;
  powerReason?: string;
}

function section(text: string, name: string, end: string): string | undefined {
  const i = text.indexOf(`${MARK} ${name}`);
  if (i < 0) return undefined;
  const j = text.indexOf(`${MARK} ${end}`, i + 1);
  return text.slice(i + MARK.length + name.length + 1, j < 0 ? undefined : j);
}

function kindOf(description: string): PointKind {
  if (/flip-flop|latch/.test(description)) return 'register';
  if (/input port/.test(description)) return 'input';
  if (/output port/.test(description)) return 'output';
  return 'other';
}

/**
 * The RTL name of a timing point: a flip-flop instance `u_post/acc_q[3]_reg`
 * (hierarchy separator `/`, the flattened hierarchy inside a block with `.`)
 * becomes `u_post.acc_q[3]`; a port stays its name. Flip-flops Yosys made
 * without an RTL register keep their instance name (`u_fifo._1234_`).
 */
export function rtlName(point: string): string {
  return point.replace(/\\/g, '').replace(/\//g, '.').replace(/_reg$/, '');
}

/** Splits `report_checks` output into its paths. */
export function parsePaths(text: string): TimingPath[] {
  const paths: TimingPath[] = [];
  for (const chunk of text.split(/^Startpoint: /m).slice(1)) {
    const start = /^(\S+)\s*\n?\s*\(([^)]*)\)/.exec(chunk);
    const end = /^Endpoint: (\S+)\s*\n?\s*\(([^)]*)\)/m.exec(chunk);
    const arrival = /^\s*([-0-9.]+)\s+data arrival time\s*$/m.exec(chunk);
    const slack = /^\s*([-0-9.]+)\s+slack \((?:MET|VIOLATED)\)/m.exec(chunk);
    if (!start || !end || !arrival || !slack) continue;
    // the launching clock edge: the first "clock clk (rise edge)" line of the data path
    const launch = /^\s*(?:[-0-9.]+\s+)?([-0-9.]+)\s+clock \S+ \((?:rise|fall) edge\)/m.exec(chunk);
    const launchNs = launch ? Number(launch[1]) : 0;
    const dataPath = chunk.slice(0, chunk.indexOf('data arrival time'));
    // output pins of cells on the path; the first is the launching flip-flop's Q (or none for an input)
    const outs = [...dataPath.matchAll(/^\s*[-0-9.]+\s+[-0-9.]+ [\^v] (\S+)\/(\S+) \(/gm)].filter((m) => !/^(CLK|CK|C|G|GATE|GATE_N)$/.test(m[2]!));
    const fromKind = kindOf(start[2]!);
    const toKind = kindOf(end[2]!);
    // the endpoint's own data pin (D) is an input pin: every other listed pin is a cell output
    const cellOutputs = outs.filter((m) => `${m[1]}` !== end[1]);
    paths.push({
      from: rtlName(start[1]!),
      to: rtlName(end[1]!),
      fromKind,
      toKind,
      startpoint: start[1]!,
      endpoint: end[1]!,
      delayNs: Number(arrival[1]) - launchNs,
      slackNs: Number(slack[1]),
      cells: Math.max(0, cellOutputs.length - (fromKind === 'register' ? 1 : 0)),
    });
  }
  return paths.sort((a, b) => a.slackNs - b.slackNs);
}

/** The `Total` row of `report_power` (watts): internal, switching, leakage, total. */
export function parsePower(text: string): StaResult['power'] {
  const m = /^Total\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)\s+([-0-9.eE+]+)/m.exec(text);
  if (!m) return null;
  return { internalW: Number(m[1]), switchingW: Number(m[2]), leakageW: Number(m[3]), totalW: Number(m[4]) };
}

/** Reads the output of staScript; throws when the timing part is missing (the caller shows the log). */
export function parseStaOutput(text: string): StaResult {
  const ws = /worst slack\s+([-0-9.eE+]+)/.exec(section(text, 'worst-slack', 'tns') ?? '');
  const tns = /tns\s+([-0-9.eE+]+)/.exec(section(text, 'tns', 'paths') ?? '');
  const pathsText = section(text, 'paths', 'end-paths');
  if (!ws || pathsText === undefined) throw new Error('OpenSTA output has no worst slack or path report');
  const paths = parsePaths(pathsText);
  const blockPaths: Record<string, TimingPath> = {};
  for (const m of text.matchAll(new RegExp(`${MARK} block (\\S+)\\n([\\s\\S]*?)${MARK} end-block`, 'g'))) {
    const p = parsePaths(m[2]!)[0];
    if (p) blockPaths[m[1]!] = p;
  }
  let power: StaResult['power'] = null;
  let powerReason: string | undefined;
  const noPower = new RegExp(`${MARK} no-power (.*)`).exec(text);
  if (noPower) powerReason = noPower[1]!.trim();
  else {
    const p = section(text, 'power', 'end-power');
    power = p === undefined ? null : parsePower(p);
    if (!power) powerReason = p === undefined ? 'OpenSTA stopped before report_power' : 'report_power printed no Total row';
  }
  return { worstSlackNs: Number(ws[1]), tnsNs: tns ? Number(tns[1]) : NaN, paths, blockPaths, power, ...(powerReason ? { powerReason } : {}) };
}

/** The version OpenSTA prints for `sta -version`. */
export function staVersion(output: string): string {
  return `OpenSTA ${output.trim().split('\n')[0] ?? ''}`;
}
