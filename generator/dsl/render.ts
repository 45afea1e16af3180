import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { Dim } from './dim.ts';
import { bare, lit, WidthError, type Expr, type Signal } from './expr.ts';
import type { Item, LocalParam, ModuleDef, RegUpdate } from './module.ts';
import type { Stmt } from './comb.ts';
import { MAX_LINE, commentLines, statement, wrapWords } from './layout.ts';
import type { Design } from './elaborate.ts';
import type { Memory } from './memory.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../../common/version.ts';

const templateDir = new URL('../../templates/verilog/', import.meta.url);
const hb = Handlebars.create();
hb.registerPartial('item', readFileSync(new URL('item.v.hbs', templateDir), 'utf8'));
hb.registerPartial('stmt', readFileSync(new URL('stmt.v.hbs', templateDir), 'utf8'));
const moduleTemplate = hb.compile(readFileSync(new URL('module.v.hbs', templateDir), 'utf8'), { noEscape: true, strict: false });

function range(width: Dim): string {
  return width.isLiteral && width.value === 1 ? '' : `[${width.minus(1).text}:0] `;
}

function portDecl(s: Signal): string {
  const dir = s.kind === 'input' ? 'input ' : 'output';
  return `${dir} wire ${s.signed ? 'signed ' : ''}${range(s.width)}${s.name}`;
}

function signalDecl(s: Signal): string {
  return `${s.kind === 'reg' || s.kind === 'logic' ? 'reg ' : 'wire'} ${s.signed ? 'signed ' : ''}${range(s.width)}${s.name}`;
}

function localDecl(l: LocalParam): string {
  const type = l.width === undefined ? 'integer' : range(Dim.of(l.width)).trimEnd();
  return `localparam ${type} ${l.name} = ${l.text};`;
}

/**
 * One statement, `head` + expression + `tail`, at `indent` spaces: continuation
 * lines carry the `extra` spaces the template puts before the first line, and
 * break so that no line passes MAX_LINE (Handlebars adds `indent` to all).
 */
function stmtText(indent: number, extra: number, head: string, e: Expr, tail: string): string {
  const max = MAX_LINE - indent - extra;
  const line = head + bare(e) + tail;
  if (line.length <= max) return line;
  return statement(head, e.layout(), tail, max)
    .split('\n')
    .map((l, k) => (k === 0 ? l : ' '.repeat(extra) + l))
    .join('\n');
}

function memoryDecl(mem: Memory): string {
  return `reg  ${mem.signed ? 'signed ' : ''}${range(mem.width)}${mem.name} [0:${mem.depth.minus(1).text}]`;
}

interface ItemView {
  assign?: boolean;
  reg?: boolean;
  instance?: boolean;
  generate?: boolean;
  memwrite?: boolean;
  comment?: boolean;
  comb?: boolean;
  flops?: boolean;
  [k: string]: unknown;
}

/** The view of an item the templates place at `indent` spaces (2 per nesting level). */
function itemView(m: ModuleDef, item: Item, indent: number): ItemView {
  switch (item.kind) {
    case 'assign':
      return { assign: true, line: stmtText(indent, 0, `assign ${item.lhs.render()} = `, item.rhs, ';') };
    case 'reg':
      if (!m.reset) {
        // a module without reset (noReset): the register loads on every enabled edge
        return {
          regNoReset: true,
          clock: m.clock!.name,
          enableLine: item.enable ? stmtText(indent, 2, 'if (', item.enable, ') begin') : undefined,
          nextLine: stmtText(indent, item.enable ? 4 : 2, `${item.reg.name} <= `, item.next, ';'),
        };
      }
      return {
        reg: true,
        clock: m.clock!.name,
        reset: m.reset!.name,
        name: item.reg.name,
        resetValue: item.resetName ?? lit(item.reset, item.reg.width, item.reg.signed).render(),
        enableLine: item.enable ? stmtText(indent, 2, 'end else if (', item.enable, ') begin') : 'end else begin',
        nextLine: stmtText(indent, 4, `${item.reg.name} <= `, item.next, ';'),
      };
    case 'instance': {
      const params = [...item.params].map(([name, d]) => `.${name}(${d.text})`);
      const head = `${item.module.name} ${params.length > 0 ? `#(${params.join(', ')}) ` : ''}${item.name} (`;
      const broken = indent + head.length > MAX_LINE;
      return {
        instance: true,
        module: item.module.name,
        head: broken ? undefined : head,
        paramLines: broken ? params.map((p, k) => `${p}${k < params.length - 1 ? ',' : ''}`) : undefined,
        name: item.name,
        conns: item.module.ports.map((p, k) => ({
          line: stmtText(indent, 2, `.${p.name}(`, item.conns.get(p.name)!, `)${k < item.module.ports.length - 1 ? ',' : ''}`),
        })),
      };
    }
    case 'comment':
      return { comment: true, lines: commentLines(item.text, indent) };
    case 'memwrite':
      return {
        memwrite: true,
        clock: m.clock!.name,
        name: item.mem.name,
        enableLine: item.enable ? stmtText(indent, 2, 'if (', item.enable, ') begin') : undefined,
        writeLine: stmtText(indent, item.enable ? 4 : 2, `${item.mem.name}[${item.addr.render()}] <= `, item.data, ';'),
      };
    case 'generate':
      return {
        generate: true,
        genvar: item.genvar.name,
        count: item.genvar.count.text,
        label: item.label,
        signals: aligned(item.signals.map((s) => ({ decl: `${signalDecl(s)};`, doc: s.comment })), indent + 2),
        items: item.items.map((i) => itemView(m, i, indent + 2)),
      };
    case 'comb':
      return {
        comb: true,
        defaults: item.defaults.map((d) => stmtText(indent + 2, 0, `${d.target.name} = `, d.value, ';')),
        body: item.body.map((st) => stmtView(st, indent + 2)),
      };
  }
}

/**
 * Module-level item views with `gap` set where a blank line follows: after
 * every item but a comment (it belongs to what follows) and an assignment
 * followed by another (a run of assignments stays together).
 */
function spaced(m: ModuleDef, items: readonly Item[], indent: number): ItemView[] {
  const out: ItemView[] = [];
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    let view: ItemView;
    if (isFlop(item)) {
      // a run of flops (q <= d) shares one clocked block
      const run: RegUpdate[] = [];
      while (k < items.length && isFlop(items[k]!)) run.push(items[k++] as RegUpdate);
      k--;
      view = {
        flops: true,
        clock: m.clock!.name,
        reset: m.reset!.name,
        rows: run.map((r) => ({ name: r.reg.name, resetValue: r.resetName ?? lit(r.reset, r.reg.width, r.reg.signed).render(), next: r.next.render() })),
      };
    } else {
      view = itemView(m, item, indent);
    }
    const next = items[k + 1];
    const gap = item.kind !== 'comment' && !(item.kind === 'assign' && next?.kind === 'assign');
    out.push({ ...view, gap });
  }
  return out;
}

function isFlop(i: Item): boolean {
  return i.kind === 'reg' && i.flop === true;
}

/** The view of a statement of a combinational block at `indent` spaces (templates/verilog/stmt.v.hbs). */
function stmtView(st: Stmt, indent: number): Record<string, unknown> {
  switch (st.kind) {
    case 'set':
      return { set: true, line: stmtText(indent, 0, `${st.target.name} = `, st.value, ';') };
    case 'comment':
      return { comment: true, lines: commentLines(st.text, indent) };
    case 'if':
      return {
        ifs: true,
        branches: st.branches.map((b, k) => ({
          head: stmtText(indent, 0, k === 0 ? 'if (' : 'end else if (', b.cond, ') begin'),
          body: b.body.map((x) => stmtView(x, indent + 2)),
        })),
        otherwise: st.otherwise?.map((x) => stmtView(x, indent + 2)),
      };
    case 'case':
      return {
        case: true,
        subject: st.subject.render(),
        arms: st.arms.map((a) => ({ label: a.label.render(), body: a.body.map((x) => stmtView(x, indent + 4)) })),
        otherwise: st.otherwise.map((x) => stmtView(x, indent + 4)),
      };
  }
}

function genvarsOf(items: readonly Item[], out: Set<string>): Set<string> {
  for (const i of items) {
    if (i.kind === 'generate') {
      out.add(i.genvar.name);
      genvarsOf(i.items, out);
    }
  }
  return out;
}

/**
 * Pads declarations at `indent` spaces so their trailing comments line up; a
 * comment that would pass MAX_LINE goes on the lines above its declaration.
 */
function aligned(rows: { decl: string; doc?: string }[], indent: number): { line: string }[] {
  const fits = (decl: string, doc: string) => indent + decl.length + 5 + doc.length <= MAX_LINE;
  const width = Math.max(0, ...rows.filter((r) => r.doc && fits(r.decl, r.doc)).map((r) => r.decl.length));
  return rows.flatMap((r) => {
    if (!r.doc) return [{ line: r.decl }];
    if (fits(r.decl.padEnd(width), r.doc)) return [{ line: `${r.decl.padEnd(width)}  // ${r.doc}` }];
    return [...commentLines(r.doc, indent).map((line) => ({ line })), { line: r.decl }];
  });
}

/** Verilog text of one module, header included. Pure function of the definition. */
export function renderModule(m: ModuleDef): string {
  const configLines = JSON.stringify(m.config, null, 2).split('\n');
  const genvars = [...genvarsOf(m.items, new Set())];
  const signals: { decl: string; doc?: string }[] = [
    ...genvars.map((g) => ({ decl: `genvar ${g}`, doc: 'generate loop index' })),
    ...m.signals.map((s) => ({ decl: signalDecl(s), doc: s.comment })),
    ...m.wireArrays.map((a) => ({
      decl: `wire ${a.signed ? 'signed ' : ''}${range(a.width)}${a.name} ${a.dims.map((d) => `[0:${d.minus(1).text}]`).join('')}`,
      doc: a.comment,
    })),
    ...m.memories.map((mem) => ({ decl: memoryDecl(mem), doc: mem.comment ? `${mem.comment} (RAM, not reset)` : 'RAM, not reset' })),
  ];
  const rendered = moduleTemplate({
    module: m.name,
    docLines: wrapWords(`${m.name}: ${m.doc}`, MAX_LINE - 3),
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    configLines,
    params: aligned(m.params.map((p, i) => ({ decl: `parameter integer ${p.name} = ${p.value}${i < m.params.length - 1 ? ',' : ''}`, doc: p.doc })), 2),
    localparams: aligned(m.localparams.map((l) => ({ decl: localDecl(l), doc: l.doc })), 2),
    ports: aligned(m.ports.map((p, i) => ({ decl: portDecl(p) + (i < m.ports.length - 1 ? ',' : ''), doc: p.comment })), 2),
    signals: aligned(signals.map((s) => ({ decl: `${s.decl};`, doc: s.doc })), 2),
    items: spaced(m, m.items, 2),
    clock: m.clock?.name,
    reset: m.reset?.name,
    properties: m.properties.map((p) => ({
      docLines: wrapWords(p.doc, MAX_LINE - 9),
      line: stmtText(6, 0, `${p.label}: ${p.kind} (`, p.expr, ');').replace(/\n/g, '\n      '),
    })),
  });
  // one blank line before the formal block, whether or not the last item ends with one
  const text = rendered.replace(/\n\n\n`ifdef FORMAL\n/, '\n\n`ifdef FORMAL\n');
  // Verilator -Wall flags parameters nothing refers to (UNUSEDPARAM); it never sees the formal block.
  const synthText = text.replace(/\n`ifdef FORMAL\n[\s\S]*?\n`endif\n/, '\n');
  const body = synthText.slice(synthText.indexOf(') (\n') >= 0 ? synthText.indexOf(') (\n') : 0);
  for (const p of [...m.params, ...m.localparams]) {
    const uses = body.match(new RegExp(`\\b${p.name}\\b`, 'g'))?.length ?? 0;
    const declared = m.localparams.includes(p as never) ? 1 : 0; // a localparam's own declaration is in the body
    if (uses <= declared) throw new WidthError(`${m.name}: parameter ${p.name} is never used`);
  }
  return text;
}

export interface RenderedFile {
  path: string;
  text: string;
}

/** One `.v` file per module, in compile order (children first). */
export function renderDesign(d: Design): RenderedFile[] {
  return d.modules.map((m) => ({ path: `${m.name}.v`, text: renderModule(m) }));
}
