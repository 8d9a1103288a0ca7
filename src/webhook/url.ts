import type { Redactor } from '../secrets/redactor.js';

/**
 * A webhook URL is a credential: a Slack or Teams hook's path is its token,
 * other receivers put one in the query or the user info. One rule, used by
 * serve and the gate alike, says which parts are registered with the redactor:
 *
 * - the whole URL as written (href);
 * - the user name and password, both as they appear in the URL and decoded;
 * - the path with its query, when it is at least TOKEN_MIN_LENGTH characters;
 * - every path segment and every query value that is at least that long.
 *
 * Shorter paths (/hook, /alerts) are not credentials, and registering them
 * would redact innocent text everywhere. Logs name a receiver by
 * webhookDisplayName only: scheme and host.
 */

/** Shorter than this, a path or query value is a name, not a token. */
export const TOKEN_MIN_LENGTH = 16;

const LABEL = 'webhook-url';

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The parts of the URL the rule above calls secret (the redactor itself skips any too short to redact safely). */
export function webhookUrlSecrets(url: URL): string[] {
  const secrets = new Set<string>([url.href]);
  for (const userInfo of [url.username, url.password]) {
    if (userInfo === '') continue;
    secrets.add(userInfo);
    secrets.add(decoded(userInfo));
  }
  const pathAndQuery = `${url.pathname}${url.search}`;
  if (pathAndQuery.length >= TOKEN_MIN_LENGTH) secrets.add(pathAndQuery);
  const longParts = [...url.pathname.split('/').map(decoded), ...url.searchParams.values()];
  for (const part of longParts) if (part.length >= TOKEN_MIN_LENGTH) secrets.add(part);
  return [...secrets];
}

export function registerWebhookUrlSecrets(redactor: Redactor, url: URL): void {
  for (const secret of webhookUrlSecrets(url)) redactor.add(secret, LABEL);
}

/** Scheme and host: the only part of a webhook URL that may be logged. */
export function webhookDisplayName(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
