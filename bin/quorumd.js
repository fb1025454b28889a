#!/usr/bin/env node
// quorumd: the store daemon (etcd-compatible flags). Runs the compiled entry point.
import { main } from '../dist/store/server/main.js';

await main(process.argv.slice(2));
