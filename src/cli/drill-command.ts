import { formatMs } from '../journey/duration.js';
import { EXIT } from '../core/exit-codes.js';
import { runDrill, type DrillReport } from '../gate/drill.js';
import { describeProblems, expandTargets, fleetOutcomes } from '../gate/fleet.js';
import { describeFleetSize } from '../gate/render-common.js';
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
  for (const fleet of report.fleets ?? []) lines.push(`  fleet ${fleet.group}: ${describeFleetSize(fleet)}: ${fleet.instances.join(', ')}`);
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
    // Found once, before the first verify: the deploy and the rollback are judged on the same instances.
    const expansion = await expandTargets(fleet.targets, { redactor: fleet.redactor, signal });
    if ('problems' in expansion) {
      for (const problem of expansion.problems) write(fleet.redactor.redact(`ceiling drill: ${problem.code}: ${problem.message}`));
      write(`ceiling drill: INCONCLUSIVE: ${fleet.redactor.redact(describeProblems(expansion.problems))}`);
      return expansion.interrupted ? EXIT.interrupted : EXIT.nothingTested;
    }
    const fleets = fleetOutcomes(expansion.fleets, new Map());
    for (const found of expansion.fleets)
      write(fleet.redactor.redact(`ceiling drill: discovered ${found.group} (${found.source}): ${found.instances.join(', ')}`));
    if (expansion.sizeFindings.length > 0) {
      // Rehearsing a rollback on a fleet that is already the wrong size would prove nothing.
      const reason = `${expansion.sizeFindings.map((finding) => finding.message).join('; ')}; fix the fleet before the drill`;
      const report: DrillReport = { ok: false, reason, phases: [], fleets };
      process.stdout.write(fleet.redactor.redact(renderDrill(report)));
      if (flags.reportOut !== undefined) await writeToFile(flags.reportOut, `${JSON.stringify(fleet.redactor.redactDeep(report), null, 2)}\n`);
      return EXIT.failed;
    }
    const drilled = await runDrill({
      journeys: fleet.journeys,
      targets: expansion.targets,
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
    const report: DrillReport = fleets.length > 0 ? { ...drilled, fleets } : drilled;
    process.stdout.write(fleet.redactor.redact(renderDrill(report)));
    if (flags.reportOut !== undefined) await writeToFile(flags.reportOut, `${JSON.stringify(fleet.redactor.redactDeep(report), null, 2)}\n`);
    if (signal.aborted) return EXIT.interrupted;
    return report.ok ? EXIT.passed : EXIT.failed;
  } finally {
    dispose();
  }
}
