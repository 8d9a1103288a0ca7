import { StepFailure } from './failure.js';
import { abortFailure } from './deadline.js';

/**
 * Turns the errors thrown by sockets, undici and ws into classified failures
 * with stable codes, so a report says "connect refused" rather than a stack.
 */

const dnsCodes = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const connectCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'ABORT_ERR') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return (error as { code?: string } | undefined)?.code;
}

function messageOf(error: unknown): string {
  let current: unknown = error;
  const parts: string[] = [];
  for (let depth = 0; depth < 3 && current; depth++) {
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && message && !parts.includes(message)) parts.push(message);
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(error);
}

export function classifyNetworkError(error: unknown, signal: AbortSignal, target: string): StepFailure {
  if (error instanceof StepFailure) return error;
  if (signal.aborted) return abortFailure(signal);
  const code = codeOf(error) ?? '';
  const message = messageOf(error);
  if (dnsCodes.has(code)) {
    return new StepFailure('dns', 'CEIL_DNS_LOOKUP', `cannot resolve the host of ${target} (${code})`, { hint: 'check the host name and the resolver' });
  }
  if (code === 'ECONNREFUSED') {
    return new StepFailure('connect', 'CEIL_CONNECT_REFUSED', `connection refused by ${target}`, {
      hint: 'is the service running and listening on that port?',
    });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
    return new StepFailure('connect', 'CEIL_CONNECT_RESET', `connection to ${target} was reset (${message})`);
  }
  if (connectCodes.has(code) || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new StepFailure('connect', 'CEIL_CONNECT_FAILED', `cannot connect to ${target} (${code})`);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test(code) || /certificate|SSL routines/i.test(message)) {
    return new StepFailure('tls', 'CEIL_TLS_CERTIFICATE', `TLS check failed for ${target}: ${message}`, {
      hint: 'fix the certificate, or set insecure: true on this step to skip the check on purpose',
    });
  }
  return new StepFailure('protocol', 'CEIL_PROTOCOL', `request to ${target} failed: ${message}`);
}
