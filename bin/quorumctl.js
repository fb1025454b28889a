#!/usr/bin/env node
// quorumctl: the etcdctl-compatible client. Runs the compiled entry point.
import { main } from '../dist/store/ctl/main.js';

process.exitCode = await main(process.argv.slice(2));
