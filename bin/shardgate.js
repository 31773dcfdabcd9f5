#!/usr/bin/env node
// The published entry point: runs the compiled CLI (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  process.stderr.write('shardgate: the project is not built yet; run `npm install` (or `npm run build`) first\n');
  process.exit(1);
}
await import(main);
