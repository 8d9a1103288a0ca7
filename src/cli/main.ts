#!/usr/bin/env node
import { runCli } from './program.js';

let settled = false;

// If the event loop empties while a command is still pending (a wait on an
// unref'd timer, a lost promise), the process would end with code 0 and no
// report: a silent false pass. Turn that into a loud internal error instead.
process.once('beforeExit', () => {
  if (settled) return;
  process.stderr.write('ceiling: internal error: the run stopped before it finished (nothing kept it alive)\n');
  process.exitCode = 70;
});

// The only place that ends the process: everything below returns an exit code.
runCli(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (error: unknown) => {
    settled = true;
    process.stderr.write(`ceiling: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(70);
  },
);
