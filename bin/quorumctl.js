#!/usr/bin/env node
// quorumctl: the etcdctl-compatible client. Runs the compiled entry point and exits with its code.
import { runAsProgram } from '../dist/store/ctl/main.js';

await runAsProgram(process.argv.slice(2));
