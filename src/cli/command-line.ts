import { parse } from 'shell-quote';

/**
 * Splits a command written as one string ("./rollback.sh --to v1") into argv.
 * The command then runs without a shell, so shell operators, substitutions
 * and expansions are refused rather than silently passed as words: a `&&`
 * that does nothing, or a `$VERSION` that arrives as those eight characters,
 * would be a rollback that does not do what it says.
 */
export function splitCommand(flag: string, text: string): string[] | { error: string } {
  const needsShell = (shown: string) => ({
    error: `${flag}: "${shown}" needs a shell, but the command runs without one; put the steps in a script and pass its path`,
  });
  // shell-quote keeps backticks as plain text and forgets whether they were quoted, so any backtick is refused:
  // a shell would run what is between them.
  const backtick = /`[^`]*`?/.exec(text);
  if (backtick) return needsShell(backtick[0]);
  const expanded: string[] = [];
  // Called only for an expansion a shell would make ($NAME, ${NAME}, "$NAME"); a single-quoted '$NAME' stays literal.
  const tokens = parse(text, (name) => {
    expanded.push(`$${name}`);
    return `$${name}`;
  });
  const words: string[] = [];
  for (const token of tokens) {
    if (typeof token === 'string') {
      words.push(token);
      continue;
    }
    return needsShell('op' in token ? token.op : 'comment' in token ? `#${token.comment}` : JSON.stringify(token));
  }
  if (expanded.length > 0) return needsShell(expanded[0]!);
  if (words.length === 0) return { error: `${flag}: the command is empty` };
  return words;
}
