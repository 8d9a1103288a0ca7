/** What `ceiling run` is given on the command line, as commander parses it in program.ts. */
export interface RunFlags {
  config?: string;
  target?: string;
  list: boolean;
  shard?: string;
  quiet: boolean;
  tag: string[];
  grep?: string;
  concurrency?: number;
  retries?: number;
  timeout?: string;
  var: string[];
  envFile?: string;
  secretsFile?: string;
  reporter: string[];
  out: string;
  failOnFlaky: boolean;
  browserPath?: string;
  trace: 'retain-on-failure' | 'off';
}
