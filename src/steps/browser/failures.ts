import { abortFailure } from '../../core/deadline.js';
import { formatMs } from '../../journey/duration.js';
import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import { plainMessage } from './bounds.js';

/**
 * Chromium's net:: error names, mapped to the failure classes the HTTP and
 * WebSocket steps use, with the same codes, so an alert on "connect" fires
 * whichever kind of step found the service down.
 */
const netClasses: { test: RegExp; make: (code: string, url: string) => StepFailure }[] = [
  {
    test: /^ERR_NAME_NOT_RESOLVED$|^ERR_NAME_RESOLUTION_FAILED$/,
    make: (code, url) =>
      new StepFailure('dns', 'CEIL_DNS_LOOKUP', `cannot resolve the host of ${url} (${code})`, { hint: 'check the host name and the resolver' }),
  },
  {
    test: /^ERR_CONNECTION_REFUSED$/,
    make: (_code, url) =>
      new StepFailure('connect', 'CEIL_CONNECT_REFUSED', `connection refused by ${url}`, { hint: 'is the service running and listening on that port?' }),
  },
  {
    test: /^ERR_(CONNECTION_RESET|CONNECTION_CLOSED|CONNECTION_ABORTED|EMPTY_RESPONSE)$/,
    make: (code, url) => new StepFailure('connect', 'CEIL_CONNECT_RESET', `connection to ${url} was reset (${code})`),
  },
  {
    test: /^ERR_(ADDRESS_UNREACHABLE|ADDRESS_INVALID|CONNECTION_FAILED|CONNECTION_TIMED_OUT|INTERNET_DISCONNECTED|NETWORK_UNREACHABLE|TIMED_OUT|PROXY_CONNECTION_FAILED)$/,
    make: (code, url) => new StepFailure('connect', 'CEIL_CONNECT_FAILED', `cannot connect to ${url} (${code})`),
  },
  {
    test: /^ERR_(CERT_|SSL_|BAD_SSL_)/,
    make: (code, url) =>
      new StepFailure('tls', 'CEIL_TLS_CERTIFICATE', `TLS check failed for ${url} (${code})`, {
        hint: 'fix the certificate, or set insecure: true on browser.open to skip the check on purpose',
      }),
  },
  {
    test: /^ERR_UNSAFE_PORT$/,
    make: (_code, url) =>
      configError('CEIL_BROWSER_UNSAFE_PORT', `Chromium refuses to connect to ${url}: its port is on the browser's list of unsafe ports`, {
        hint: 'serve the page on another port (browsers block ports such as 1, 25, 110 and 6000)',
      }),
  },
];

export function netErrorCode(error: unknown): string | undefined {
  return /net::(ERR_[A-Z0-9_]+)/.exec(plainMessage(error))?.[1];
}

const closedPattern = /Target page, context or browser has been closed|Target closed|Browser has been closed|browser has disconnected|Page crashed/i;

/**
 * For whatever a Playwright call threw that the step did not anticipate.
 * `url` names what was being loaded, when something was.
 */
export function browserFailure(error: unknown, signal: AbortSignal, actor: string, url?: string): StepFailure {
  if (error instanceof StepFailure) return error;
  if (signal.aborted) return abortFailure(signal);
  const code = netErrorCode(error);
  if (code !== undefined) {
    const known = netClasses.find((entry) => entry.test.test(code));
    if (known) return known.make(code, url ?? 'the page');
    return new StepFailure('protocol', 'CEIL_BROWSER_NET', `loading ${url ?? 'the page'} failed: net::${code}`);
  }
  const message = plainMessage(error);
  if (closedPattern.test(message)) {
    return new StepFailure('protocol', 'CEIL_BROWSER_CLOSED', `the page of ${actor} is gone: ${message.split('\n')[0]}`, {
      hint: 'the browser crashed or was closed; the evidence may say what the page was doing',
    });
  }
  return new StepFailure('protocol', 'CEIL_BROWSER_ERROR', `the browser failed for ${actor}: ${message.split('\n')[0]}`);
}

export function isStrictViolation(error: unknown): boolean {
  return /strict mode violation/i.test(plainMessage(error));
}

export function ambiguous(error: unknown, description: string): StepFailure {
  const count = /resolved to (\d+) elements/.exec(plainMessage(error))?.[1];
  return assertionFailed('CEIL_BROWSER_AMBIGUOUS', `${description} matches ${count ?? 'several'} elements, and this step needs exactly one`, {
    expected: 'one element',
    actual: count === undefined ? 'several elements' : `${count} elements`,
    hint: 'narrow the target: add exact: true, nth: 0, or use a role with a name, a testId or a css selector',
  });
}

export function noElement(description: string, waitedMs: number, extra?: string): StepFailure {
  return assertionFailed('CEIL_BROWSER_NO_ELEMENT', `no element matches ${description} within ${formatMs(waitedMs)}${extra ? `; ${extra}` : ''}`, {
    expected: description,
    actual: 'no matching element',
    hint: 'check the target against the page (see the screenshot and trace in the evidence), or give the page more time with within: or timeout:',
  });
}
