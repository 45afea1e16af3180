/**
 * Line layout of emitted Verilog: expressions that do not fit one line are
 * broken at their outermost operator or comma, one operand per line, and text
 * comments are word-wrapped. The flat form of an expression is its `render()`;
 * the broken form means the same (associative chains of one operator are
 * written without their inner parentheses).
 */

/** The longest line the renderer emits (indentation included). */
export const MAX_LINE = 120;

/** An expression's layout: plain text, or a group that may be broken over lines. */
export type Doc = string | DocGroup;

export interface DocGroup {
  open: string;
  items: DocItem[];
  close: string;
}

/** One operand of a group: `lead` before it (an operator), `trail` after it (a comma). */
export interface DocItem {
  lead: string;
  doc: Doc;
  trail: string;
}

export function flat(d: Doc): string {
  if (typeof d === 'string') return d;
  return d.open + d.items.map((i) => i.lead + flat(i.doc) + i.trail).join('') + d.close;
}

/**
 * Lines of `d` followed by `tail`, the first continuing a line already `col`
 * characters long, later ones indented `indent` spaces; no line passes `max`
 * unless a single name or literal is longer. The first returned line carries
 * no indentation (it is appended to the current line); the others carry theirs.
 */
export function layoutDoc(d: Doc, col: number, indent: number, tail: string, max: number): string[] {
  const f = flat(d);
  if (typeof d === 'string' || col + f.length + tail.length <= max) return [f + tail];
  const pad = ' '.repeat(indent + 2);
  const lines = [d.open];
  for (const item of d.items) {
    const lead = item.lead.trimStart();
    const sub = layoutDoc(item.doc, indent + 2 + lead.length, indent + 2, item.trail, max);
    lines.push(pad + lead + sub[0], ...sub.slice(1));
  }
  lines.push(' '.repeat(indent) + d.close + tail);
  return lines;
}

/** `head` + the expression + `tail` as lines of at most `max` characters (when possible), continuation lines indented. */
export function statement(head: string, d: Doc, tail: string, max: number): string {
  const lines = layoutDoc(d, head.length, 0, tail, max);
  return head + lines.join('\n');
}

/** Word-wraps `text` into lines of at most `width` characters (a longer word stays whole). */
export function wrapWords(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line.length > 0 ? `${line} ${word}` : word;
    }
  }
  if (line.length > 0) out.push(line);
  return out;
}

/** `// ` comment lines for `text` (one or more lines), wrapped so that, indented by `indent`, none passes MAX_LINE. */
export function commentLines(text: string, indent: number): string[] {
  return text.split('\n').flatMap((l) => (l.length === 0 ? ['//'] : wrapWords(l, MAX_LINE - indent - 3).map((w) => `// ${w}`)));
}
