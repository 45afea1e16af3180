import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { Dim } from './dim.ts';
import { lit, WidthError, type Signal } from './expr.ts';
import type { Item, ModuleDef } from './module.ts';
import type { Design } from './elaborate.ts';
import type { Memory } from './memory.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../../common/version.ts';

const templateDir = new URL('../../templates/verilog/', import.meta.url);
const hb = Handlebars.create();
hb.registerPartial('item', readFileSync(new URL('item.v.hbs', templateDir), 'utf8'));
const moduleTemplate = hb.compile(readFileSync(new URL('module.v.hbs', templateDir), 'utf8'), { noEscape: true, strict: false });

function range(width: Dim): string {
  return width.isLiteral && width.value === 1 ? '' : `[${width.minus(1).text}:0] `;
}

function portDecl(s: Signal): string {
  const dir = s.kind === 'input' ? 'input ' : 'output';
  return `${dir} wire ${s.signed ? 'signed ' : ''}${range(s.width)}${s.name}`;
}

function signalDecl(s: Signal): string {
  return `${s.kind === 'reg' ? 'reg ' : 'wire'} ${s.signed ? 'signed ' : ''}${range(s.width)}${s.name}`;
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
  [k: string]: unknown;
}

function itemView(m: ModuleDef, item: Item): ItemView {
  switch (item.kind) {
    case 'assign':
      return { assign: true, lhs: item.lhs.render(), rhs: item.rhs.render() };
    case 'reg':
      return {
        reg: true,
        clock: m.clock!.name,
        reset: m.reset!.name,
        name: item.reg.name,
        resetValue: lit(item.reset, item.reg.width, item.reg.signed).render(),
        enable: item.enable?.render(),
        next: item.next.render(),
      };
    case 'instance':
      return {
        instance: true,
        module: item.module.name,
        params: [...item.params].map(([name, d]) => `.${name}(${d.text})`).join(', '),
        name: item.name,
        conns: item.module.ports.map((p) => ({ port: p.name, expr: item.conns.get(p.name)!.render() })),
      };
    case 'comment':
      return { comment: true, lines: item.text.split('\n').map((l) => (l.length > 0 ? `// ${l}` : '//')) };
    case 'memwrite':
      return {
        memwrite: true,
        clock: m.clock!.name,
        name: item.mem.name,
        addr: item.addr.render(),
        data: item.data.render(),
        enable: item.enable?.render(),
      };
    case 'generate':
      return {
        generate: true,
        genvar: item.genvar.name,
        count: item.genvar.count.text,
        label: item.label,
        signals: aligned(item.signals.map((s) => ({ decl: `${signalDecl(s)};`, doc: s.comment }))),
        items: item.items.map((i) => itemView(m, i)),
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

/** Pads declarations so their trailing comments line up. */
function aligned(rows: { decl: string; doc?: string }[]): { line: string }[] {
  const width = Math.max(0, ...rows.filter((r) => r.doc).map((r) => r.decl.length));
  return rows.map((r) => ({ line: r.doc ? `${r.decl.padEnd(width)}  // ${r.doc}` : r.decl }));
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
  const text = moduleTemplate({
    module: m.name,
    doc: m.doc,
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    configLines,
    params: m.params,
    localparams: aligned(m.localparams.map((l) => ({ decl: `localparam integer ${l.name} = ${l.text};`, doc: l.doc }))),
    ports: aligned(m.ports.map((p, i) => ({ decl: portDecl(p) + (i < m.ports.length - 1 ? ',' : ''), doc: p.comment }))),
    signals: aligned(signals.map((s) => ({ decl: `${s.decl};`, doc: s.doc }))),
    items: m.items.map((i) => itemView(m, i)),
  });
  // Verilator -Wall flags parameters nothing refers to (UNUSEDPARAM).
  const body = text.slice(text.indexOf(') (\n') >= 0 ? text.indexOf(') (\n') : 0);
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
