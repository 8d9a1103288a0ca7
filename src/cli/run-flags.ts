/** The flags every command that runs journeys (run, serve, gate, drill) takes alike. */
export interface JourneyRunFlags {
  retries?: number;
  timeout?: string;
  var: string[];
  envFile?: string;
  secretsFile?: string;
  out: string;
  browserPath?: string;
  trace: 'retain-on-failure' | 'off';
}

/** What `ceiling run` is given on the command line, as commander parses it in program.ts. */
export interface RunFlags extends JourneyRunFlags {
  config?: string;
  target?: string;
  list: boolean;
  watch: boolean;
  shard?: string;
  quiet: boolean;
  tag: string[];
  grep?: string;
  concurrency?: number;
  reporter: string[];
  failOnFlaky: boolean;
  otlpEndpoint?: string;
}
