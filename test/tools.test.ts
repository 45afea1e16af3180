import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verilatorLint, yosysSynth, icarusCompile } from '../testbench/tools.ts';
import { tmpDir } from './helpers.ts';

// The RTL quality gates must be able to fail: each is shown a known-bad design.
describe('the lint and synthesis gates reject bad RTL', () => {
  const dir = tmpDir();
  const write = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return name;
  };

  it('yosys flags a latch', () => {
    const f = write('latch.v', 'module latch(input wire en, input wire d, output reg q); always @* if (en) q = d; endmodule\n');
    const r = yosysSynth([f], 'latch', dir);
    expect(r.ok).toBe(false);
  });

  it('yosys check -assert flags a multiply driven net', () => {
    const f = write('multi.v', 'module multi(input wire a, input wire b, output wire y); assign y = a; assign y = b; endmodule\n');
    expect(yosysSynth([f], 'multi', dir).ok).toBe(false);
  });

  it('verilator -Wall flags a width mismatch', () => {
    const f = write('width.v', 'module width(input wire [3:0] a, output wire [4:0] y); assign y = a; endmodule\n');
    const r = verilatorLint([f], 'width', dir);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/WIDTH/);
  });

  it('verilator -Wall flags an unused input', () => {
    const f = write('unused.v', 'module unused(input wire a, input wire b, output wire y); assign y = a; endmodule\n');
    const r = verilatorLint([f], 'unused', dir);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/UNUSED/);
  });

  it('icarus rejects a syntax error', () => {
    const f = write('syntax.v', 'module syntax(input wire a, output wire y); assign y = a +; endmodule\n');
    expect(icarusCompile([f], 'syntax', dir).ok).toBe(false);
  });
});
