import { parseByteSize } from './byte-size.js';

/**
 * Bounds on what one journey file may cost to read. A 50 MB file or a YAML
 * alias bomb is refused with a load error naming the file, before it can
 * hold a run (or serve's reload) for minutes at hundreds of MB.
 */
export interface LoadLimits {
  /** Largest journey file read, in bytes. */
  maxFileBytes: number;
  /** Values YAML aliases may add to one file when unfolded. */
  aliasBudget: number;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** 50 steps sharing one headers map add a few hundred values; a billion laughs adds billions. */
export const DEFAULT_ALIAS_BUDGET = 10_000;

export const LIMIT_VARIABLES = { maxFileBytes: 'CEILING_MAX_FILE_SIZE', aliasBudget: 'CEILING_YAML_ALIAS_BUDGET' } as const;

/** The limits from the environment; a string is the problem with a value set there. */
export function loadLimitsFrom(env: Readonly<Record<string, string | undefined>>): LoadLimits | string {
  const sizeText = env[LIMIT_VARIABLES.maxFileBytes]?.trim();
  const budgetText = env[LIMIT_VARIABLES.aliasBudget]?.trim();
  let maxFileBytes = DEFAULT_MAX_FILE_BYTES;
  if (sizeText) {
    const parsed = /^\d+$/.test(sizeText) ? Number(sizeText) : parseByteSize(sizeText);
    if (parsed === undefined || parsed < 1) return `${LIMIT_VARIABLES.maxFileBytes}="${sizeText}" is not a size; write e.g. 4MiB or 4194304`;
    maxFileBytes = parsed;
  }
  let aliasBudget = DEFAULT_ALIAS_BUDGET;
  if (budgetText) {
    if (!/^\d+$/.test(budgetText)) return `${LIMIT_VARIABLES.aliasBudget}="${budgetText}" is not a whole number; write e.g. 50000`;
    aliasBudget = Number(budgetText);
  }
  return { maxFileBytes, aliasBudget };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
