import { raceAbort } from '../../core/deadline.js';
import { StepFailure, assertionFailed, configError } from '../../core/failure.js';
import type { CaptureMap } from '../../journey/schema.js';
import type { StepContext } from '../executor.js';
import type { BrowserActor } from './actor.js';
import { msLeft, plainMessage, stepWindow, withTimeout } from './bounds.js';
import { readElementText, type Element } from './element.js';
import { DETAIL_TEXT, shorten } from './element-failures.js';
import { ambiguous, isStrictViolation } from './failures.js';
import { compileRegex, normalizeWhitespace } from './match.js';

/**
 * What a browser step's capture: map reads from the page: an element's text,
 * value or attribute, the URL or the title, or a regex over one of those.
 */

const captureHint = 'browser steps capture text, value, attribute.<name>, url, title, or { regex, group, from } over one of those';

async function readCaptureSource(name: string, source: string, actor: BrowserActor, element: Element | undefined, context: StepContext): Promise<string> {
  if (source === 'url') return actor.page.url();
  const window = stepWindow(context.deadline);
  if (source === 'title') return raceAbort(withTimeout(actor.page.title(), msLeft(window)), context.signal);
  const attribute = /^attribute\.(.+)$/.exec(source)?.[1];
  if (source !== 'text' && source !== 'value' && attribute === undefined) {
    throw configError('CEIL_CAPTURE_SOURCE', `capture ${name}: unknown source "${source}"`, { hint: captureHint });
  }
  if (!element)
    throw configError('CEIL_CAPTURE_SOURCE', `capture ${name}: "${source}" is read from an element, and this step has no target`, {
      hint: 'add a target, or capture url or title',
    });
  try {
    if (source === 'text') return normalizeWhitespace(await raceAbort(readElementText(element)(msLeft(window)), context.signal));
    if (source === 'value') return await raceAbort(element.locator.inputValue({ timeout: msLeft(window) }), context.signal);
    const value = await raceAbort(element.locator.getAttribute(attribute!, { timeout: msLeft(window) }), context.signal);
    if (value === null)
      throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: ${element.description} has no attribute ${attribute}`, { path: `capture.${name}` });
    return value;
  } catch (error) {
    if (error instanceof StepFailure || context.signal.aborted) throw error;
    if (isStrictViolation(error)) throw ambiguous(error, element.description);
    throw assertionFailed(
      'CEIL_CAPTURE_MISSING',
      `capture ${name}: cannot read the ${source} of ${element.description}: ${plainMessage(error).split('\n')[0]}`,
      { path: `capture.${name}` },
    );
  }
}

export async function captureAll(
  map: CaptureMap | undefined,
  actor: BrowserActor,
  element: Element | undefined,
  context: StepContext,
): Promise<Record<string, unknown> | undefined> {
  if (!map) return undefined;
  const captured: Record<string, unknown> = {};
  for (const [name, source] of Object.entries(map)) {
    if (typeof source === 'string') {
      captured[name] = await readCaptureSource(name, source, actor, element, context);
      continue;
    }
    const from = source.from ?? (element ? 'text' : 'url');
    const input = await readCaptureSource(name, from, actor, element, context);
    const found = compileRegex(source.regex, `capture ${name}`).exec(input);
    if (!found)
      throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: /${source.regex}/ found nothing in the ${from}`, {
        path: `capture.${name}`,
        actual: shorten(input, DETAIL_TEXT),
      });
    // As with http and ws: without a group, the first group is what "id=(\d+)" is written for; a pattern without groups gives the whole match.
    const group = source.group ?? (found.length > 1 ? 1 : 0);
    const value = typeof group === 'number' ? found[group] : found.groups?.[group];
    if (value === undefined)
      throw assertionFailed('CEIL_CAPTURE_MISSING', `capture ${name}: group ${String(group)} of /${source.regex}/ is empty`, { path: `capture.${name}` });
    captured[name] = value;
  }
  return captured;
}
