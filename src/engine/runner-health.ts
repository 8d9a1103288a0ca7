import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { FailureCode } from '../core/failure-codes.js';

/**
 * The runner's own health: how late Ceiling's event loop ran while a step or a
 * journey was live. A step that times out while the runner itself was frozen
 * says nothing about the service, and a verdict must not pretend it does.
 *
 * One cheap sampler (a timer that notes how late it fires) feeds every open
 * window; it runs only while a window is open, so an idle process has no timer.
 * Each window keeps the largest single delay and the total delay it saw.
 */

/** Fine enough to see a stall that matters (100 ms and up), coarse enough to cost nothing. */
const SAMPLE_EVERY_MS = 20;
/**
 * Only a freeze this long counts toward a window's stalled time: a machine
 * that is merely busy delays every tick by a few ms, and those add up to
 * "stalled" time without ever freezing anything.
 */
const FREEZE_MS = 30;

export interface StallWindow {
  /** The largest single event-loop delay seen so far, ms. */
  readonly maxDelayMs: number;
  /** The sum of event-loop delays seen so far (time the runner could not act), ms. */
  readonly stalledMs: number;
  /** Stops counting and returns the final figures, including a delay still pending right now. */
  close(): { maxDelayMs: number; stalledMs: number };
}

class Window implements StallWindow {
  maxDelayMs = 0;
  stalledMs = 0;
  constructor(private readonly owner: StallSampler) {}

  note(delayMs: number): void {
    if (delayMs > this.maxDelayMs) this.maxDelayMs = delayMs;
    if (delayMs >= FREEZE_MS) this.stalledMs += delayMs;
  }

  close(): { maxDelayMs: number; stalledMs: number } {
    this.owner.release(this);
    return { maxDelayMs: Math.round(this.maxDelayMs), stalledMs: Math.round(this.stalledMs) };
  }
}

export class StallSampler {
  readonly #open = new Set<Window>();
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;

  constructor(private readonly everyMs = SAMPLE_EVERY_MS) {}

  open(): StallWindow {
    const window = new Window(this);
    this.#open.add(window);
    if (!this.#timer) {
      this.#lastTick = performance.now();
      this.#timer = setInterval(this.#tick, this.everyMs);
      this.#timer.unref();
    }
    return window;
  }

  /** @internal */
  release(window: Window): void {
    if (!this.#open.has(window)) return;
    // A stall still in progress when the step ends (its timeout fired right after it) counts too.
    const pending = performance.now() - this.#lastTick - this.everyMs;
    if (pending > 0) window.note(pending);
    this.#open.delete(window);
    if (this.#open.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #tick = (): void => {
    const now = performance.now();
    const delay = now - this.#lastTick - this.everyMs;
    this.#lastTick = now;
    if (delay <= 1) return;
    for (const window of this.#open) window.note(delay);
  };
}

/** The process's one sampler; steps and journeys open windows on it. */
export const runnerStalls = new StallSampler();

/**
 * Failures that a frozen runner can cause on its own: a deadline that passed
 * while Ceiling could not act, a latency bound, a WebSocket the server reaped
 * because its pings went unanswered. An assertion on content is never one.
 */
// Checked against the catalogue, so a misspelt code fails to compile rather than never matching.
const timeSensitiveCodes = new Set<string>([
  'CEIL_TIMEOUT_STEP',
  'CEIL_TIMEOUT_JOURNEY',
  'CEIL_HTTP_LATENCY',
  'CEIL_WS_CLOSED_WHILE_EXPECTING',
  'CEIL_WS_NOT_OPEN',
  'CEIL_WS_EXPECT_TIMEOUT',
  'CEIL_WS_HANDSHAKE_TIMEOUT',
  'CEIL_CONNECT_RESET',
] satisfies FailureCode[]);

/** A stall this long, and at least this share of the step, is the runner's doing rather than noise. */
export const STALL_MIN_MS = 100;
export const STALL_MIN_SHARE = 0.2;
/**
 * A timeout needs more: a target that never answers times out whatever the
 * runner did, so only a freeze over half the window could have made a timely
 * answer late. A short freeze on a busy machine must not turn a real hang
 * into "no verdict".
 */
export const TIMEOUT_STALL_MIN_SHARE = 0.5;

export function isStallSensitive(failure: { class: string; code: string }): boolean {
  return failure.class === 'timeout' || timeSensitiveCodes.has(failure.code);
}

/** True when a failure on time coincided with the runner being frozen for a large share of the step. */
export function stallExplains(failure: { class: string; code: string }, stalledMs: number, stepMs: number): boolean {
  const share = failure.class === 'timeout' ? TIMEOUT_STALL_MIN_SHARE : STALL_MIN_SHARE;
  return isStallSensitive(failure) && stalledMs >= STALL_MIN_MS && stalledMs >= share * Math.max(stepMs, 1);
}

/**
 * A process-wide event-loop delay histogram (perf_hooks) for long-lived
 * processes: serve exports its maximum per scrape.
 */
export class EventLoopDelayMonitor {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#histogram.enable();
  }

  /** The largest delay since the last call, in seconds, then starts over. */
  takeMaxSeconds(): number {
    const max = this.#histogram.count > 0 ? this.#histogram.max / 1e9 : 0;
    this.#histogram.reset();
    return max;
  }

  stop(): void {
    this.#histogram.disable();
  }
}
