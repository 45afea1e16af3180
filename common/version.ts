import { readFileSync } from 'node:fs';

/** The generator's version, read once from package.json (the single source). */
export const GENERATOR_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const GENERATOR_NAME = 'msq';
