import { formatMs } from '../journey/duration.js';
import { EXIT } from '../core/exit-codes.js';
import { runDrill, type DrillReport } from '../gate/drill.js';
import { runRollback } from '../gate/rollback.js';
import { writeToFile } from '../report/output.js';
import { terminalSafe } from '../report/terminal-text.js';
import { splitCommand } from './command-line.js';
import { durationFlag, InputError } from './flag-values.js';
import { abortOnSignals, loadFleet, type FleetFlags } from './gate-inputs.js';

export interface DrillFlags extends FleetFlags {
  deploy: string;
  rollback: string;
  recoverWithin: string;
  every: string;
  commandTimeout: string;
  failOnFlaky: boolean;
  reportOut?: string;
}

function commandOf(flag: string, text: string): string[] {
  const split = splitCommand(flag, text);
  if (!Array.isArray(split)) throw new InputError(split.error);
  return split;
}

function renderDrill(report: DrillReport): string {
  const lines = [`\n${report.ok ? '✓ DRILL PASSED' : '✗ DRILL FAILED'}: ${report.reason}`];
  for (const phase of report.phases) {
    const command = phase.command
      ? ` · ${phase.command.command.join(' ')} exited ${phase.command.exitCode ?? '(killed)'} in ${formatMs(phase.command.durationMs)}`
      : '';
    lines.push(
      `  ${phase.name.padEnd(8)} ${phase.green ? 'green' : 'red  '} at ${formatMs(phase.atMs)}${command}${phase.problem ? `\n           ${phase.problem}` : ''}`,
    );
    if (phase.command && !phase.command.ok && phase.command.output.trim()) {
      lines.push(
        `           output:\n${phase.command.output
          .trimEnd()
          .split('\n')
          .map((line) => `             ${line}`)
          .join('\n')}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function drillCommand(paths: string[], flags: DrillFlags): Promise<number> {
  const write = (line: string) => process.stderr.write(`${terminalSafe(line)}\n`);
  let fleet;
  let deploy: string[];
  let rollback: string[];
  let timing: { commandTimeoutMs: number; recoverWithinMs: number; everyMs: number };
  try {
    timing = {
      commandTimeoutMs: durationFlag('--command-timeout', flags.commandTimeout),
      recoverWithinMs: durationFlag('--recover-within', flags.recoverWithin),
      everyMs: durationFlag('--every', flags.every),
    };
    deploy = commandOf('--deploy', flags.deploy);
    rollback = commandOf('--rollback', flags.rollback);
    fleet = await loadFleet(paths, flags, write);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    write(error.message);
    return error.exitCode;
  }
  const { signal, dispose } = abortOnSignals(write);
  try {
    const report = await runDrill({
      journeys: fleet.journeys,
      targets: fleet.targets,
      run: fleet.run,
      deploy,
      rollback,
      failOnFlaky: flags.failOnFlaky,
      recoverWithinMs: timing.recoverWithinMs,
      everyMs: timing.everyMs,
      redactor: fleet.redactor,
      signal,
      log: (line) => write(fleet.redactor.redact(`ceiling drill: ${line}`)),
      runCommand: (_phase, command) =>
        runRollback({ command, env: { CEILING_DRILL: '1' }, timeoutMs: timing.commandTimeoutMs, redactor: fleet.redactor, signal }),
    });
    process.stdout.write(fleet.redactor.redact(renderDrill(report)));
    if (flags.reportOut !== undefined) await writeToFile(flags.reportOut, `${JSON.stringify(fleet.redactor.redactDeep(report), null, 2)}\n`);
    if (signal.aborted) return EXIT.interrupted;
    return report.ok ? EXIT.passed : EXIT.failed;
  } finally {
    dispose();
  }
}
