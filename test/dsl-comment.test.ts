import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineModule } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { renderDesign, renderModule } from '../generator/dsl/render.ts';
import { verilatorLint, icarusCompile } from '../testbench/tools.ts';
import { tmpDir } from './helpers.ts';

describe('DSL comments', () => {
  it('renders one // line per text line, at module level and inside generate loops', () => {
    const m = defineModule('commented2', 'comments in the body', {}, (mb) => {
      const a = mb.input('a', 4);
      const y = mb.output('y', 4);
      const z = mb.output('z', 4);
      mb.comment('Why y is a inverted:\nthe consumer is active low.\n\nafter an empty line');
      mb.assign(y, a.not());
      mb.generate('g_bit', 'i', 4, (i, s) => {
        s.comment('one bit per iteration');
        s.assign(z.bit(i), a.bit(i));
      });
    });
    const text = renderModule(m);
    expect(text).toContain('  // Why y is a inverted:\n  // the consumer is active low.\n  //\n  // after an empty line\n');
    expect(text).toContain('    // one bit per iteration\n    assign z[i] = a[i];');
    const dir = tmpDir();
    const files = renderDesign(elaborate(m));
    for (const f of files) writeFileSync(join(dir, f.path), f.text);
    expect(verilatorLint(files.map((f) => f.path), 'commented2', dir).output).toBe('');
    expect(icarusCompile(files.map((f) => f.path), 'commented2', dir).ok).toBe(true);
  });
});
