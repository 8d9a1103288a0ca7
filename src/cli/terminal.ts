/**
 * Whether output gets ANSI colour. FORCE_COLOR wins, as it does for Node and
 * Playwright (so a CI log viewer that renders colour can ask for it):
 * FORCE_COLOR=0 or false turns colour off, any other value turns it on. Then
 * NO_COLOR turns it off; otherwise a terminal gets colour unless CI is set.
 */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env.FORCE_COLOR;
  if (forced !== undefined && forced !== '') return forced !== '0' && forced.toLowerCase() !== 'false';
  if (env.NO_COLOR) return false;
  return stream.isTTY === true && !env.CI;
}

/** Live progress redraws need a real terminal; a CI log wants plain, stable lines. */
export const isLiveTerminal = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean => stream.isTTY === true && !env.CI;
