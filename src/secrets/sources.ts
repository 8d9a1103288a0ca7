import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { MIN_SECRET_LENGTH, type Redactor } from './redactor.js';
import { configError } from '../core/failure.js';

/** Reads a dotenv-style file (KEY=value lines), as used by --env-file and --secrets-file. */
export async function readDotenvFile(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8');
  const parsed = parseEnv(text) as Record<string, string | undefined>;
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * Resolves `secrets.NAME`: the secrets file first, then the environment. Every
 * value handed out is registered for redaction before it can reach a request.
 */
export function secretLookup(fromFile: Record<string, string>, env: (name: string) => string | undefined, redactor: Redactor) {
  for (const [name, value] of Object.entries(fromFile)) redactor.add(value, name);
  return (name: string): string | undefined => {
    const value = Object.hasOwn(fromFile, name) ? fromFile[name] : env(name);
    // Only strings are secrets; process.env inherits `toString` and friends from Object.prototype.
    if (typeof value !== 'string') return undefined;
    if (!redactor.add(value, name)) {
      throw configError('CEIL_SECRET_TOO_SHORT', `secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters, too short to redact safely`, {
        hint: 'use a longer secret value',
      });
    }
    return value;
  };
}
