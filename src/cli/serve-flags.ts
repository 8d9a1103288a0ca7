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
  target: string;
  shard?: string;
  alertAfter: number;
  webhook: string[];
  slackWebhook: string[];
  tokenEnv: string;
  publicUrl?: string;
  grace: string;
  reloadInterval: string;
  otlpEndpoint?: string;
}
