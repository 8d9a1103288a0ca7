/**
 * The one place that says which folder of src/ may import which. A unit test
 * (test/unit/architecture.test.ts) reads every import of every file under
 * src/ and fails on any import this table does not allow, and on any cycle
 * between files.
 *
 * Layers, low to high: core < journey < secrets < steps < report < history <
 * engine < webhook < serve, gate < cli. A folder may import its own files and
 * the folders below it, never one above. serve and gate are siblings: neither
 * imports the other; only the CLI wires them up.
 *
 * A new folder needs a row here before its first file can be imported.
 */
export const ALLOWED_IMPORTS = {
  /** Deadlines, teardown, the result model, exit codes, failures, network-error classification. */
  core: [],
  /** The journey language: schema, YAML loading with positions, templates, matchers, diagnostics. */
  journey: ['core'],
  /** Redaction of secret values, and where secret values come from. */
  secrets: ['core', 'journey'],
  /** Finding a target group's instances (DNS SRV, A/AAAA, a command) and checking the fleet's size. */
  discovery: ['core', 'journey', 'secrets'],
  /** The step executors (http, ws, browser, flow) behind one Executor interface. */
  steps: ['core', 'journey', 'secrets', 'discovery'],
  /** Renderers of the result model (console, JSON, JUnit, GitHub) and the reporter multiplexer. */
  report: ['core', 'journey', 'secrets', 'discovery', 'steps'],
  /** The SQLite run history shared by serve and gate. */
  history: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report'],
  /** Running journeys: actors, retries, concurrency, the runner's own health. */
  engine: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report', 'history'],
  /** Outbound webhooks for serve's alerts and the gate's notifications. */
  webhook: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report', 'history', 'engine'],
  /** The probe daemon: scheduler, HTTP API, status page, metrics, alerts. */
  serve: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report', 'history', 'engine', 'webhook'],
  /** The post-deploy gate: rounds, verdict policy, latency statistics, rollback, drill, outputs. */
  gate: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report', 'history', 'engine', 'webhook'],
  /** Argument parsing and the commands; the only place that calls process.exit. */
  cli: ['core', 'journey', 'secrets', 'discovery', 'steps', 'report', 'history', 'engine', 'webhook', 'serve', 'gate'],
} as const satisfies Record<string, readonly string[]>;

export type Layer = keyof typeof ALLOWED_IMPORTS;

/** Files at the top of src/ that every folder may import; they import nothing from src/ themselves. */
export const IMPORTABLE_FROM_EVERYWHERE = ['version.ts'] as const;

/**
 * File cycles that are known and not yet broken, each the exact set of files
 * in the cycle (paths from the repository root). The test fails when one of
 * them is no longer a cycle, so the entry is deleted as soon as its fix lands.
 */
export const KNOWN_CYCLES: readonly (readonly string[])[] = [];
