#!/usr/bin/env node
// Entry point of the `msq` command. The sources are TypeScript run through tsx's
// loader, so an installed checkout needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../cli/msq.ts');
