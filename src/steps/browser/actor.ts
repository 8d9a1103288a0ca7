import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import type { Attachment } from '../../core/result.js';
import type { Redactor } from '../../secrets/redactor.js';
import { withTimeout } from './bounds.js';
import { raceAbort } from '../../core/deadline.js';
import { scrubTrace } from './scrub.js';

/** The kind under which browser pages are registered in Actors, so a ws step never picks one up. */
export const BROWSER_ACTOR_KIND = 'browser';

/** Evidence and cleanup run after the step's deadline has passed, so they carry bounds of their own. */
const EVIDENCE_SCREENSHOT_MS = 5_000;
const TRACE_STOP_MS = 5_000;
const CLOSE_MS = 3_000;
const MASK_SCAN_MS = 1_000;
const STOP_LOADING_MS = 1_000;

export interface OpenRequest {
  name: string;
  baseUrl?: string;
  viewport?: { width: number; height: number };
  userAgent?: string;
  locale?: string;
  insecure: boolean;
  /** Record a Playwright trace, kept only if the journey fails. */
  trace: boolean;
  /** OpenTelemetry tracing is on and the journey propagates it: the page's document requests carry a traceparent header. */
  propagateTrace?: boolean;
}

/** The last document the page's main frame received, for messages such as "the page answered HTTP 500". */
export interface DocumentResponse {
  url: string;
  status: number;
}

/**
 * Adds the current step's traceparent to document requests (page loads,
 * frames) so the backend's trace of a page joins the journey's. Only
 * documents: a header added to a page's own cross-origin fetches would make
 * the browser send a CORS preflight the backend may refuse. A request that
 * already has one (set by the page) keeps it.
 */
async function propagateTraceparent(context: BrowserContext, current: () => string | undefined): Promise<void> {
  await context.route('**/*', async (route, routed) => {
    const traceparent = current();
    if (traceparent === undefined || routed.resourceType() !== 'document') return route.fallback();
    const headers = routed.headers();
    if (headers.traceparent !== undefined) return route.fallback();
    return route.fallback({ headers: { ...headers, traceparent } });
  });
}

/**
 * One browser user of a journey: a browser context of its own (cookies,
 * storage, cache) with one page. Two actors are two separate sessions.
 */
export class BrowserActor {
  /** Fields a secret was typed into; every screenshot of this page masks them. */
  readonly #secretFields: Locator[] = [];
  #tracing = false;
  #closed = false;
  #documents = 0;
  #lastDocument: DocumentResponse | undefined;
  /** The traceparent of the step now driving the page; page loads it causes carry it. */
  traceparent: string | undefined;

  private constructor(
    readonly name: string,
    readonly context: BrowserContext,
    readonly page: Page,
    readonly baseUrl: string | undefined,
  ) {
    page.on('response', this.#onResponse);
  }

  /**
   * Tracing starts before the page exists so the trace holds the whole life
   * of the page. It records DOM snapshots but no screencast frames: a frame is
   * a picture, and a typed secret in a picture cannot be redacted.
   */
  static async open(browser: Browser, request: OpenRequest, signal: AbortSignal): Promise<BrowserActor> {
    const creating = browser.newContext({
      ...(request.baseUrl !== undefined ? { baseURL: request.baseUrl } : {}),
      ...(request.viewport !== undefined ? { viewport: request.viewport } : {}),
      ...(request.userAgent !== undefined ? { userAgent: request.userAgent } : {}),
      ...(request.locale !== undefined ? { locale: request.locale } : {}),
      ignoreHTTPSErrors: request.insecure,
    });
    let context: BrowserContext;
    let actor: BrowserActor | undefined;
    try {
      context = await raceAbort(creating, signal);
    } catch (error) {
      // A context that arrives after the step gave up would otherwise live until the browser closes.
      creating.then(
        (late) => late.close().catch(() => undefined),
        () => undefined,
      );
      throw error;
    }
    try {
      if (request.propagateTrace)
        await raceAbort(
          propagateTraceparent(context, () => actor?.traceparent),
          signal,
        );
      if (request.trace) await raceAbort(context.tracing.start({ snapshots: true, screenshots: false, sources: false, title: request.name }), signal);
      const page = await raceAbort(context.newPage(), signal);
      actor = new BrowserActor(request.name, context, page, request.baseUrl);
      actor.#tracing = request.trace;
      return actor;
    } catch (error) {
      await withTimeout(context.close(), CLOSE_MS).catch(() => undefined);
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How many main-frame documents arrived so far; a navigation that adds none got no answer at all. */
  get documentsReceived(): number {
    return this.#documents;
  }

  get lastDocument(): DocumentResponse | undefined {
    return this.#lastDocument;
  }

  rememberSecretField(locator: Locator): void {
    this.#secretFields.push(locator);
  }

  /**
   * Everything on the page that may show a secret: fields a secret was typed
   * into, elements whose text holds one, and fields a script filled with one
   * (a page that reveals a stored secret). Found again before every picture,
   * because the page changes between them.
   */
  async masks(redactor: Redactor): Promise<Locator[]> {
    const masks = [...this.#secretFields];
    const secrets = redactor.secretValues();
    if (secrets.length === 0) return masks;
    for (const secret of secrets) masks.push(this.page.getByText(secret));
    const fields = this.page.locator('input, textarea');
    const values = await withTimeout(
      fields.evaluateAll((elements) => elements.map((element) => (element as HTMLInputElement).value ?? '')),
      MASK_SCAN_MS,
    ).catch((): string[] => []);
    values.forEach((value, index) => {
      if (value && redactor.contains(value)) masks.push(fields.nth(index));
    });
    return masks;
  }

  async screenshot(file: string, redactor: Redactor, options: { timeoutMs: number; fullPage?: boolean }): Promise<void> {
    const mask = await this.masks(redactor);
    await this.page.screenshot({ path: file, mask, fullPage: options.fullPage ?? false, timeout: options.timeoutMs });
  }

  /** Evidence of a failure: the page as it is now, secrets masked. */
  async collectScreenshot(dir: string, redactor: Redactor): Promise<Attachment[]> {
    if (this.#closed) return [];
    const file = path.join(dir, `${this.name}.png`);
    await this.#stopLoading();
    await this.screenshot(file, redactor, { timeoutMs: EVIDENCE_SCREENSHOT_MS });
    return [{ name: `screenshot ${this.name}`, path: file, contentType: 'image/png' }];
  }

  /**
   * Evidence of a failure: the trace of this actor's context, redacted. The
   * raw trace is written to a private temporary folder and removed, so an
   * unredacted copy never lands next to the reports.
   */
  async collectTrace(dir: string, redactor: Redactor): Promise<Attachment[]> {
    if (this.#closed || !this.#tracing) return [];
    this.#tracing = false;
    const scratch = await mkdtemp(path.join(os.tmpdir(), 'ceiling-trace-'));
    try {
      const raw = path.join(scratch, 'trace.zip');
      await withTimeout(this.context.tracing.stop({ path: raw }), TRACE_STOP_MS, 'stopping the trace');
      const scrubbed = await scrubTrace(new Uint8Array(await readFile(raw)), redactor);
      const file = path.join(dir, `${this.name}-trace.zip`);
      await writeFile(file, scrubbed.zip);
      return [{ name: `trace ${this.name}`, path: file, contentType: 'application/zip' }];
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Chromium takes no screenshot while a navigation is pending (a server that
   * never answers, a step cut off by an interrupt); stopping it first shows
   * the page as it stands, which is the evidence wanted.
   */
  async #stopLoading(): Promise<void> {
    try {
      const session = await withTimeout(this.context.newCDPSession(this.page), STOP_LOADING_MS);
      await withTimeout(session.send('Page.stopLoading'), STOP_LOADING_MS);
      await withTimeout(session.detach(), STOP_LOADING_MS);
    } catch {
      // Best effort: the screenshot is still tried, with its own bound.
    }
  }

  /** For teardown: discards a trace nobody asked for, closes the context; bounded, and never throws. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.page.off('response', this.#onResponse);
    if (this.#tracing) {
      this.#tracing = false;
      await withTimeout(this.context.tracing.stop(), TRACE_STOP_MS).catch(() => undefined);
    }
    await withTimeout(this.context.close(), CLOSE_MS).catch(() => undefined);
  }

  readonly #onResponse = (response: Response): void => {
    try {
      if (response.frame() !== this.page.mainFrame() || !response.request().isNavigationRequest()) return;
    } catch {
      // A response of a frame that is already gone has no frame to ask about.
      return;
    }
    this.#documents++;
    this.#lastDocument = { url: response.url(), status: response.status() };
  };
}
