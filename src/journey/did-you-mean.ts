import { closest, distance } from 'fastest-levenshtein';

/** The nearest candidate, or nothing when none is close enough to be a typo. */
export function nearestName(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(input, candidates as string[]);
  const limit = Math.max(2, Math.floor(input.length / 3));
  return distance(input, best) <= limit ? best : undefined;
}

/** A "; did you mean …?" suffix for an error message, or an empty string. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const best = nearestName(input, candidates);
  return best === undefined ? '' : `; did you mean "${best}"?`;
}
