import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { checkOutputFolder, writeFolderAtomically } from '../common/output-path.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import type { Design } from './dsl/elaborate.ts';
import { renderDesign } from './dsl/render.ts';

export interface GeneratedFile {
  /** path relative to the output folder, '/'-separated */
  path: string;
  text: string;
}

export interface Manifest {
  generator: string;
  version: string;
  top: string;
  /** compile order (children first), relative to the output folder */
  files: string[];
  config: Record<string, unknown>;
  [extra: string]: unknown;
}

/**
 * Everything a generation writes, as data: one .v file per module, `filelist.f`
 * and `manifest.json`, plus any extra files (docs, constraints). Pure: the same
 * design and config give byte-identical files.
 */
export function designFiles(design: Design, config: Record<string, unknown>, extra: GeneratedFile[] = [], manifestExtra: Record<string, unknown> = {}): GeneratedFile[] {
  const rtl = renderDesign(design).map((f) => ({ path: f.path, text: f.text }));
  const manifest: Manifest = {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    top: design.top.name,
    files: rtl.map((f) => f.path),
    config,
    ...manifestExtra,
  };
  return [
    ...rtl,
    { path: 'filelist.f', text: rtl.map((f) => f.path).join('\n') + '\n' },
    { path: 'manifest.json', text: JSON.stringify(manifest, null, 2) + '\n' },
    ...extra,
  ];
}

/**
 * Writes the design's Verilog (one file per module) into an existing work
 * folder and returns the file names in compile order. For simulation and
 * synthesis runs; a user-facing generation goes through writeGeneration.
 */
export function writeRtlFiles(dir: string, design: Design): string[] {
  const rtl = renderDesign(design);
  for (const f of rtl) writeFileSync(join(dir, f.path), f.text);
  return rtl.map((f) => f.path);
}

/**
 * Writes a generation into `outDir` all at once (or not at all). The path goes
 * through the output policy (common/output-path.ts): an existing folder is only
 * replaced when it is empty or holds an earlier msq generation, so a mistyped
 * --out never wipes unrelated files.
 */
export async function writeGeneration(outDir: string, files: GeneratedFile[], flag = '--out'): Promise<void> {
  const target = checkOutputFolder(flag, outDir);
  await writeFolderAtomically(target, (tmp) => {
    for (const f of files) {
      const p = join(tmp, f.path);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, f.text);
    }
  });
}
