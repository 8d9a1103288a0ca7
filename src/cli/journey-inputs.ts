import type { Journey } from '../journey/journey.js';
import { Redactor } from '../secrets/redactor.js';
import { readDotenvFile, secretLookup } from '../secrets/sources.js';
import { InputError } from './flag-values.js';

/** --tag (any matches) and --grep (a regular expression on the name); a string is a usage error. */
export function selectJourneys(journeys: Journey[], tagFlags: readonly string[], grep: string | undefined): Journey[] | string {
  let pattern: RegExp | undefined;
  if (grep !== undefined) {
    try {
      pattern = new RegExp(grep);
    } catch (error) {
      return `--grep: ${(error as Error).message}`;
    }
  }
  const tags = tagFlags
    .flatMap((tag) => tag.split(','))
    .map((tag) => tag.trim())
    .filter(Boolean);
  return journeys.filter((journey) => (tags.length === 0 || journey.tags.some((tag) => tags.includes(tag))) && (!pattern || pattern.test(journey.name)));
}

/** Reads --env-file or --secrets-file; a string is the error to print. */
export async function readFileFlag(flag: string, file: string | undefined): Promise<Record<string, string> | string> {
  if (file === undefined) return {};
  try {
    return await readDotenvFile(file);
  } catch (error) {
    return `${flag} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`;
  }
}

export interface RunSources {
  env: (name: string) => string | undefined;
  secret: (name: string) => string | undefined;
  /** Knows every secret handed out, so every output can be redacted. */
  redactor: Redactor;
}

/** --env-file and --secrets-file read, and the lookups templates use; a missing file is an InputError. */
export async function readRunSources(envFileFlag: string | undefined, secretsFileFlag: string | undefined): Promise<RunSources> {
  const envFile = await readFileFlag('--env-file', envFileFlag);
  if (typeof envFile === 'string') throw new InputError(envFile);
  const secretsFile = await readFileFlag('--secrets-file', secretsFileFlag);
  if (typeof secretsFile === 'string') throw new InputError(secretsFile);
  const redactor = new Redactor();
  const env = (name: string): string | undefined => (Object.hasOwn(envFile, name) ? envFile[name] : process.env[name]);
  return { env, secret: secretLookup(secretsFile, env, redactor), redactor };
}
