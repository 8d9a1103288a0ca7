import type { Redactor } from '../secrets/redactor.js';
import { parseWebhookHeaders, signingSecretFrom, WebhookAuthError, type WebhookAuth, type WebhookAuthSources } from '../webhook/auth.js';
import { InputError } from './flag-values.js';

/** --webhook-header and --webhook-secret-env, shared by serve and gate; a problem is bad input (exit 2). */
export function webhookAuthOf(flags: { webhookHeader: string[]; webhookSecretEnv?: string }, sources: WebhookAuthSources, redactor: Redactor): WebhookAuth {
  try {
    const headers = parseWebhookHeaders(flags.webhookHeader, sources, redactor);
    const signingSecret = flags.webhookSecretEnv !== undefined ? signingSecretFrom(flags.webhookSecretEnv, sources, redactor) : undefined;
    return { headers, ...(signingSecret !== undefined ? { signingSecret } : {}) };
  } catch (error) {
    if (error instanceof WebhookAuthError) throw new InputError(error.message);
    throw error;
  }
}
