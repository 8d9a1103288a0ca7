#!/usr/bin/env node
import { runCli } from './program.js';

// The only place that ends the process: everything below returns an exit code.
runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`ceiling: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(70);
  },
);
