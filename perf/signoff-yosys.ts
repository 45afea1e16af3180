/**
 * The Yosys side of the sign-off flow: the synthesis script (mapped to a
 * Liberty library with a timing-driven ABC script that buffers and sizes), the
 * ABC script and constraints, and the reader of `stat -liberty`.
 *
 * Hierarchy: the top's own submodule instances (the blocks: PE array,
 * post-array unit, decode unit, controller, activation input stage) stay
 * modules of their own, each flattened inside but for the units that
 * signoff.ts names SEPARATE_SYNTHESIS_BLOCKS (kept inside their block), so the
 * library area comes out per block; ABC optimizes each module on its own (on a
 * 2x4 accelerator, flat synthesis gave the same critical path within 2 %). Registers keep their RTL names: every
 * register wire is marked `keep` before synthesis (so it, not a port alias,
 * names the flip-flop output), nets are split to bits, and each flip-flop is
 * named after the bit it drives with the suffix `_reg` (`acc_q[3]_reg`), a
 * name that dfflibmap and ABC leave alone and OpenSTA prints.
 */
import { statSections } from './area.ts';

/** ABC's constraints: the cell that drives every input and the load on every output (pF), as OpenLane sets them for SKY130 HD. */
export interface AbcConstraints {
  drivingCell: string;
  loadPf: number;
}

/** Output load of ABC's constraints and of timing analysis: OpenLane's default for SKY130 (33.442 fF). */
export const DEFAULT_LOAD_PF = 0.033442;

/**
 * The ABC script, after the speed script of OpenROAD-flow-scripts: three
 * rounds of delay-driven mapping at the target (`&nf -D`), the middle one on a
 * network restructured for delay (`&syn2`, SOP balancing `&if -g`,
 * `&synch2`), the others on structural choices (`&dch`); then buffering of
 * high fan-out nets and gate sizing against the same target (`buffer -p`,
 * `upsize`, `dnsize`; they need the constraints file). On the post-array unit
 * of a 2x4 accelerator this reaches 23.3 ns where Yosys's own script for
 * `abc -liberty -constr` reaches 34.4 ns and plain `abc -liberty` 57.2 ns.
 */
export function abcScript(periodPs: number, buffering: boolean): string {
  const d = Math.round(periodPs);
  const map = [
    'strash',
    '&get -n',
    '&st',
    '&dch',
    `&nf -D ${d}`,
    '&put',
    '&get -n',
    '&st',
    '&syn2',
    '&if -g',
    '&st',
    '&synch2',
    `&nf -D ${d}`,
    '&put',
    '&get -n',
    '&st',
    '&dch',
    `&nf -D ${d}`,
    '&put',
  ];
  const size = ['buffer -p', 'topo', `upsize -D ${d}`, `dnsize -D ${d}`];
  return [...map, ...(buffering ? size : []), 'stime -p'].join('; ') + '\n';
}

export function abcConstraints(c: AbcConstraints): string {
  return `set_driving_cell ${c.drivingCell}\nset_load ${c.loadPf}\n`;
}

export interface YosysScriptOptions {
  /** RTL files in compile order (relative to the work folder or absolute) */
  files: string[];
  top: string;
  /** Yosys names (or patterns) of the modules kept as their own: the top's blocks and the units synthesized on their own */
  blockModules: string[];
  /** the synthesis view of the library (dont_use cells marked) */
  synthLiberty: string;
  /** the original library, for `stat -liberty` */
  liberty: string;
  /** ABC's delay target (ps): the period minus the synthesis margin */
  periodPs: number;
  /** file names in the work folder */
  abcScriptFile: string;
  /** ABC constraints file; without it ABC maps without buffering and sizing */
  abcConstrFile?: string;
  tie?: { cell: string; hi: string; lo: string };
  buffer?: { cell: string; in: string; out: string };
  netlist: string;
  statFile: string;
}

export function yosysScript(o: YosysScriptOptions): string {
  const lines = [
    `read_verilog ${o.files.join(' ')}`,
    `hierarchy -check -top ${o.top}`,
    ...(o.blockModules.length ? [`setattr -mod -set keep_hierarchy 1 ${o.blockModules.join(' ')}`] : []),
    'proc',
    // register wires (the Q of every flip-flop after proc) name their flip-flops, not a port that aliases them
    "select -set msq_regs t:$*dff* %co:+[Q] w:* %i",
    'setattr -set keep 1 @msq_regs',
    // every path must start and end at an RTL register name, so two passes that make new
    // unnamed flip-flops are off: FSM extraction (-nofsm: it recodes state registers, and takes a
    // memory's write enable for one) and merging flip-flops into memory read ports (-nordff: the
    // read pointer of a FIFO became a second, unnamed address register inside its memory)
    `synth -top ${o.top} -flatten -nofsm -nordff -noabc`,
    // sync reset and enable become logic around plain D flip-flops, which every library has
    'dfflegalize -cell $_DFF_P_ 01',
    'splitnets',
    'rename -wire -suffix _reg t:$_DFF_P_',
    `dfflibmap -liberty ${o.synthLiberty}`,
    `abc -D ${Math.round(o.periodPs)}${o.abcConstrFile ? ` -constr ${o.abcConstrFile}` : ''} -script ${o.abcScriptFile} -liberty ${o.synthLiberty}`,
    'setattr -unset keep w:*',
    'opt_clean -purge',
    'setundef -zero',
    ...(o.tie ? [`hilomap -singleton -hicell ${o.tie.cell} ${o.tie.hi} -locell ${o.tie.cell} ${o.tie.lo}`] : []),
    ...(o.buffer ? [`insbuf -buf ${o.buffer.cell} ${o.buffer.in} ${o.buffer.out}`] : []),
    'opt_clean',
    'check',
    `tee -q -o ${o.statFile} stat -liberty ${o.liberty}`,
    `write_verilog -noattr -noexpr -nohex -nodec ${o.netlist}`,
  ];
  return lines.join('\n') + '\n';
}

/** One module of `stat -liberty`: its own cells, its library area (own cells only) and its submodule instances. */
export interface LibertyStatModule {
  name: string;
  cells: number;
  /** library area of the module's own cells (µm² for SKY130) */
  area: number;
  /** library cell type -> count */
  cellTypes: Map<string, number>;
  /** submodule -> instances */
  children: Map<string, number>;
}

export interface LibertyStat {
  modules: Map<string, LibertyStatModule>;
  /** "Chip area for top module": the whole design through the hierarchy */
  topArea: number | undefined;
}

const clean = (name: string) => name.replace(/^\\/, '');

/** Parses `stat -liberty` (one `=== name ===` section per module, then the design hierarchy). */
export function parseLibertyStat(text: string): LibertyStat {
  const modules = new Map<string, LibertyStatModule>();
  for (const { name, body, gates: cellTypes, children } of statSections(text, clean)) {
    const areaMatch = /Chip area for module '([^']+)':\s*([0-9.eE+-]+)/.exec(body);
    let cells = 0;
    for (const n of cellTypes.values()) cells += n;
    modules.set(name, { name, cells, area: areaMatch ? Number(areaMatch[2]) : 0, cellTypes, children });
  }
  const top = /Chip area for top module '([^']+)':\s*([0-9.eE+-]+)/.exec(text);
  return { modules, topArea: top ? Number(top[2]) : undefined };
}

/** The version line of `yosys -V`. */
export function yosysVersion(output: string): string {
  return output.trim().split('\n')[0] ?? '';
}
