import { raceAbort, scopedSignal } from '../../src/core/deadline.js';
import { TeardownStack } from '../../src/core/teardown.js';
import { formatDiagnostic } from '../../src/journey/diagnostics.js';
import { StepFailure } from '../../src/core/failure.js';
import type { CompiledStep } from '../../src/journey/journey.js';
import { loadJourneyText } from '../../src/journey/load.js';
import { render } from '../../src/journey/template.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { secretLookup } from '../../src/secrets/sources.js';
import { Actors, type EvidenceCollector, type Executor, type RunResources, type StepContext, type StepOutcome } from '../../src/steps/executor.js';
import { loadExecutor } from '../../src/steps/registry.js';

/**
 * One journey attempt held by hand, as the engine holds it: actors, teardown,
 * evidence and vars across steps, a fresh deadline per step, and the real
 * executors from the registry. Step-family tests drive their steps through it.
 */

export interface StepSessionOptions {
  vars?: Record<string, unknown>;
  secrets?: Record<string, string>;
  env?: (name: string) => string | undefined;
  outDir?: string;
  browserPath?: string;
  resources?: RunResources;
  journey?: { name: string; file: string };
  /** For steps that set no timeout of their own. */
  defaultTimeoutMs?: number;
}

export class StepSession {
  readonly actors = new Actors();
  readonly teardown = new TeardownStack();
  readonly redactor = new Redactor();
  readonly evidence: EvidenceCollector[] = [];
  readonly interrupt = new AbortController();
  readonly vars: Record<string, unknown>;
  readonly #secret: (name: string) => string | undefined;

  constructor(private readonly options: StepSessionOptions = {}) {
    this.vars = { ...(options.vars ?? {}) };
    this.#secret = secretLookup(options.secrets ?? {}, () => undefined, this.redactor);
  }

  async run(step: CompiledStep | undefined): Promise<StepOutcome> {
    if (!step) throw new Error('no such step in the compiled journey');
    const timeoutMs = step.timeoutMs ?? this.options.defaultTimeoutMs ?? 3000;
    const scoped = scopedSignal(this.interrupt.signal, timeoutMs, () => new StepFailure('timeout', 'CEIL_TIMEOUT_STEP', `step timed out after ${timeoutMs}ms`));
    const context: StepContext = {
      signal: scoped.signal,
      deadline: scoped.deadline,
      vars: this.vars,
      actors: this.actors,
      teardown: this.teardown,
      evidence: this.evidence,
      settings: { outDir: this.options.outDir ?? 'ceiling-out', ...(this.options.browserPath !== undefined ? { browserPath: this.options.browserPath } : {}) },
      journey: this.options.journey ?? { name: 'steps', file: 'steps.test.ts' },
      redactor: this.redactor,
      resources: this.options.resources ?? { shared: (_key, create) => create() },
      render: (value) =>
        render(value, {
          vars: this.vars,
          env: this.options.env ?? (() => undefined),
          secret: this.#secret,
          onSecretDerived: (derived) => this.redactor.add(derived),
        }),
    };
    try {
      const executor = (await loadExecutor(step.kind)) as Executor<CompiledStep['kind']>;
      const outcome = await raceAbort(executor(step as never, context), scoped.signal);
      Object.assign(this.vars, outcome.captured);
      return outcome;
    } finally {
      scoped.dispose();
    }
  }

  async runAll(steps: readonly CompiledStep[]): Promise<StepOutcome[]> {
    const outcomes: StepOutcome[] = [];
    for (const step of steps) outcomes.push(await this.run(step));
    return outcomes;
  }

  async close(): Promise<string[]> {
    return this.teardown.runAll();
  }
}

/** Steps are written flush left: YAML accepts a block sequence at its key's indentation. */
export async function compile(stepsYaml: string, vars: Record<string, unknown> = {}): Promise<CompiledStep[]> {
  const text = `name: t\nvars: ${JSON.stringify(vars)}\nsteps:\n${stepsYaml.trim()}\n`;
  const { journey, diagnostics } = await loadJourneyText('t.yaml', text);
  if (!journey) throw new Error(diagnostics.map(formatDiagnostic).join('\n'));
  return journey.steps;
}

export async function failureOf(pending: Promise<unknown>): Promise<StepFailure> {
  try {
    await pending;
  } catch (error) {
    if (error instanceof StepFailure) return error;
    throw error;
  }
  throw new Error('expected the step to fail, but it passed');
}
