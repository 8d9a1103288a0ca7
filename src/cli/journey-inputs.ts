import type { Journey } from '../journey/journey.js';
import { readDotenvFile } from '../secrets/sources.js';

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
  const tags = tagFlags.flatMap((tag) => tag.split(',')).map((tag) => tag.trim()).filter(Boolean);
  return journeys.filter(
    (journey) => (tags.length === 0 || journey.tags.some((tag) => tags.includes(tag))) && (!pattern || pattern.test(journey.name)),
  );
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
