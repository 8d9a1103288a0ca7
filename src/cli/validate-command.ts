import { formatDiagnostic, hasErrors } from '../journey/diagnostics.js';
import { loadJourneys } from '../journey/load.js';
import { EXIT } from '../core/exit-codes.js';
import { annotation, workspacePath } from '../report/github-text.js';
import { logSafe } from '../report/terminal-text.js';
import { parseVarFlags } from './var-flags.js';

export async function validateCommand(paths: string[], flags: { var: string[] }): Promise<number> {
  const vars = parseVarFlags(flags.var);
  if (!vars.ok) {
    process.stderr.write(`${vars.error}\n`);
    return EXIT.invalid;
  }
  const loaded = await loadJourneys(paths, { extraVars: Object.keys(vars.vars) });
  for (const diagnostic of loaded.diagnostics) process.stderr.write(`${logSafe(formatDiagnostic(diagnostic))}\n`);
  // Under GitHub Actions each problem is also pinned to its line in the pull request.
  if (process.env.GITHUB_ACTIONS) {
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
    for (const { severity, code, file, line, column, field, message } of loaded.diagnostics) {
      const place = { file: workspacePath(file, workspace), line, col: column, title: `ceiling validate: ${code}` };
      process.stdout.write(`${annotation(severity === 'error' ? 'error' : 'warning', place, field ? `${field}: ${message}` : message)}\n`);
    }
  }
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error').length;
  if (hasErrors(loaded.diagnostics)) {
    process.stderr.write(`\n${errors} error(s) in ${loaded.files.length} file(s); fix them and run ceiling validate again\n`);
    return EXIT.invalid;
  }
  if (loaded.journeys.length === 0) {
    process.stderr.write(`no journey files found in ${logSafe(paths.join(', '))}; journeys are .yaml or .yml files\n`);
    return EXIT.nothingTested;
  }
  process.stdout.write(`${loaded.journeys.length} journey(s) valid\n`);
  return EXIT.passed;
}
