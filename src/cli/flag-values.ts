import { parseDuration } from '../journey/duration.js';
import { EXIT } from '../core/exit-codes.js';

/** Bad input on the command line or in a file it names: the message says what to write instead. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.invalid,
  ) {
    super(message);
  }
}

/** A duration flag such as --bake 10m; `allowZero` accepts "0s" for "off". */
export function durationFlag(flag: string, text: string, allowZero = false): number {
  if (allowZero && /^0(ms|s|m|h)?$/.test(text.trim())) return 0;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new InputError(`${flag}: ${parsed.reason}`);
  return parsed.ms;
}
