import { parse } from 'shell-quote';

/**
 * Splits a command written as one string ("./rollback.sh --to v1") into argv.
 * The command then runs without a shell, so shell operators and substitutions
 * are refused rather than silently passed as words: a `&&` that does nothing
 * would be a rollback that does not happen.
 */
export function splitCommand(flag: string, text: string): string[] | { error: string } {
  const words: string[] = [];
  // Keep $NAME literal: expanding it here would hide what actually runs.
  for (const token of parse(text, (name) => `$${name}`)) {
    if (typeof token === 'string') {
      words.push(token);
      continue;
    }
    const shown = 'op' in token ? token.op : 'comment' in token ? `#${token.comment}` : JSON.stringify(token);
    return { error: `${flag}: "${shown}" needs a shell, but the command runs without one; put the steps in a script and pass its path` };
  }
  if (words.length === 0) return { error: `${flag}: the command is empty` };
  return words;
}
