import { access } from 'node:fs/promises';
import { didYouMean } from '../journey/did-you-mean.js';
import { formatDiagnostic, hasErrors } from '../journey/diagnostics.js';
import { DEFAULT_CONFIG_FILE, loadProjectConfig, type ProjectConfig, type TargetConfig } from '../gate/config.js';
import { InputError } from './flag-values.js';

/**
 * ceiling.yaml as `run` reads it: the file named by --config (which must
 * exist), or else ./ceiling.yaml when there is one. `run` needs no targets;
 * gate and drill load it themselves and do.
 */
export async function loadOptionalProjectConfig(configFlag: string | undefined, write: (line: string) => void): Promise<ProjectConfig | undefined> {
  let file = configFlag;
  if (file === undefined) {
    const present = await access(DEFAULT_CONFIG_FILE).then(
      () => true,
      () => false,
    );
    if (!present) return undefined;
    file = DEFAULT_CONFIG_FILE;
  }
  const loaded = await loadProjectConfig(file, { requireTargets: false });
  for (const diagnostic of loaded.diagnostics) write(formatDiagnostic(diagnostic));
  if (!loaded.config || hasErrors(loaded.diagnostics)) throw new InputError(`\nnothing was run: fix ${file} first (the errors above say where)`);
  return loaded.config;
}

/** The named targets, or an InputError (exit 2) that lists the known ones and the nearest name. */
export function pickTargets(names: readonly string[], config: ProjectConfig | undefined): TargetConfig[] {
  if (names.length === 0) return [];
  if (!config)
    throw new InputError(
      `--target ${names.join(', ')}: there is no ${DEFAULT_CONFIG_FILE} here to declare targets in; create one (ceiling init) or pass --config FILE`,
    );
  const known = config.targets.map((target) => target.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    const first = unknown[0]!;
    const list = known.length > 0 ? `targets: ${known.join(', ')}` : 'it declares no targets';
    throw new InputError(`--target: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in ${config.file} (${list})${didYouMean(first, known)}`);
  }
  return config.targets.filter((target) => names.includes(target.name));
}
