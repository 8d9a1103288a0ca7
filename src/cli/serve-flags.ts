import type { JourneyRunFlags } from './run-flags.js';

/** What `ceiling serve` is given on the command line, as commander parses it in program.ts. */
export interface ServeFlags extends JourneyRunFlags {
  tag: string[];
  grep?: string;
  listen: string;
  every: string;
  concurrency: number;
  db: string;
  retention: string;
  retentionRuns: number;
  retentionSize: string;
  location: string;
  /** Without --config, at most one: the target label. With it, the targets to probe (all when empty). */
  target: string[];
  config?: string;
  shard?: string;
  alertAfter: number;
  webhook: string[];
  slackWebhook: string[];
  alertmanager: string[];
  pagerdutyRoutingKeyEnv?: string;
  pagerdutyUrl: string;
  webhookHeader: string[];
  webhookSecretEnv?: string;
  tokenEnv: string;
  publicUrl?: string;
  grace: string;
  reloadInterval: string;
  otlpEndpoint?: string;
}
