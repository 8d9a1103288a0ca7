import type { FailureCode } from '../core/failure-codes.js';
import type { FailureClass } from '../core/failure.js';

/**
 * The gate's verdict: what `ceiling gate` writes as JSON, renders for the
 * console, JUnit and GitHub, pushes to a Pushgateway and hands to the
 * rollback command. Plain JSON; every string has been through the redactor.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** What made the gate fail (or doubt): a journey, a version pin, a latency regression or a discovered fleet of the wrong size. */
export type FindingKind = 'journey' | 'version' | 'latency' | 'flaky' | 'infrastructure' | 'fleet';

export interface GateFinding {
  kind: FindingKind;
  target: string;
  journey?: string;
  step?: string;
  /** A stable code, e.g. CEIL_HTTP_STATUS, CEIL_GATE_VERSION, CEIL_GATE_LATENCY. */
  code: FailureCode;
  message: string;
  failureClass?: FailureClass;
  /** The journey is tagged critical: one hard failure fails the gate at once. */
  critical: boolean;
  /** 1-based bake round the finding came from (0 for checks made before the first round). */
  round: number;
  /** Journey file and line, for CI annotations. */
  file?: string;
  line?: number;
}

export interface LatencyComparison {
  target: string;
  journey: string;
  step: string;
  baselineMedianMs: number;
  currentMedianMs: number;
  /** currentMedian / baselineMedian. */
  ratio: number;
  /** One-sided Mann–Whitney U p-value for "current is slower than baseline", Holm-adjusted across the steps compared for the target. */
  pValue: number;
  baselineSamples: number;
  currentSamples: number;
  /** Significant at the configured confidence AND at least the minimum effect size. */
  regressed: boolean;
}

export interface TargetOutcome {
  name: string;
  /** The version the target reported, when a version probe is configured. */
  version?: string;
  status: 'passed' | 'failed' | 'inconclusive';
  /** Clean rounds in a row at the end of the bake. */
  cleanRounds: number;
  journeys: { name: string; status: 'passed' | 'failed' | 'error' | 'flaky'; durationMs: number; failedStep?: string; message?: string }[];
}

/** A discovered target group as the gate found it, and the versions its instances run (with a version probe). */
export interface FleetOutcome {
  /** The key under `targets:`. */
  group: string;
  /** Where it was looked up: `SRV _http._tcp.web.test at 127.0.0.1:5353`. */
  source: string;
  expected?: { count: number } | { min: number };
  found: number;
  /** The instances' target names. */
  instances: string[];
  /** Most common first; empty without a version probe or before any round. */
  versions: { version: string; count: number; instances: string[] }[];
}

export interface RollbackOutcome {
  command: string[];
  exitCode: number | null;
  signal?: string;
  /** The command's combined output, redacted and bounded. */
  output: string;
  durationMs: number;
  ok: boolean;
}

export interface RecoveryOutcome {
  recovered: boolean;
  rounds: number;
  /** From the verdict to the first round that was green on every target again. */
  timeToRecoverMs?: number;
  /** How long the gate was allowed to wait for green (--recover-within). */
  withinMs?: number;
}

export interface GatePolicy {
  bakeMs: number;
  everyMs: number;
  cleanRounds: number;
  confidence: number;
  /** Minimum slowdown that counts, as a fraction: 0.2 = 20 % slower. */
  minEffect: number;
  failOnFlaky: boolean;
}

export interface GateResult {
  schemaVersion: 1;
  tool: { name: 'ceiling'; version: string };
  command: 'gate' | 'drill';
  startedAt: string;
  finishedAt: string;
  verdict: Verdict;
  exitCode: number;
  /** One sentence a person reads first: "target chat-2: step \"bob leaves\" failed: …". */
  reason: string;
  expectedVersion?: string;
  policy: GatePolicy;
  rounds: number;
  targets: TargetOutcome[];
  /** Discovered target groups only; absent when every target is written out in ceiling.yaml. */
  fleets?: FleetOutcome[];
  findings: GateFinding[];
  latency: LatencyComparison[];
  /** Where the baseline came from: a file, the serve history, or none (latency not checked). */
  baseline: { source: 'file' | 'history' | 'none'; path?: string; samples: number };
  /** From the gate's start to the verdict. */
  timeToDetectMs?: number;
  rollback?: RollbackOutcome;
  recovery?: RecoveryOutcome;
}
