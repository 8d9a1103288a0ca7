import { StepFailure } from '../core/failure.js';
import type { Redactor } from '../secrets/redactor.js';

/**
 * Registers the credentials in a URL as secrets, as written and as decoded,
 * since either form may reach a message. The user name is public like any
 * login, unless it is the only credential (https://TOKEN@host/). WebSocket
 * URLs need only this: the ws library sends their user info as Basic auth.
 */
export function registerUrlCredentials(url: URL, redactor: Redactor): { user: string; password: string } | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const user = decode(url.username);
  const password = decode(url.password);
  const secrets = password !== '' ? [url.password, password] : [url.username, user];
  for (const value of new Set(secrets)) redactor.add(value, 'url credentials');
  return { user, password };
}

/**
 * `http://user:pw@host/` is how many people write Basic auth. fetch-style
 * clients drop the user info without a word, so the request went out
 * unauthenticated. The credentials are taken out of the URL here, sent as a
 * Basic Authorization header (dropped on a cross-origin redirect like any
 * other), and registered as secrets so no output shows them.
 */
export function takeUrlCredentials(url: URL, headers: Record<string, string>, redactor: Redactor): void {
  const credentials = registerUrlCredentials(url, redactor);
  if (!credentials) return;
  url.username = '';
  url.password = '';
  if (headers.authorization !== undefined) {
    throw new StepFailure(
      'config',
      'CEIL_HTTP_AUTH_TWICE',
      `the URL of ${url.origin} carries credentials and the step sets an Authorization header (or auth:) too`,
      {
        hint: 'keep one: remove user:password@ from the URL, or remove auth:/the header',
      },
    );
  }
  const value = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
  redactor.add(value, 'url credentials');
  headers.authorization = value;
}
