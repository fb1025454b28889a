#!/usr/bin/env node
// quorum: the operator CLI (compiled TypeScript in dist/; run `npm run build` first).
import { main } from '../dist/toolkit/cli/main.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
