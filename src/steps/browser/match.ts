import { configError } from '../../core/failure.js';

/**
 * What an expectation wants of a text (an element's text, the title, the
 * URL), worded for the failure message: `to contain "Saved!"`.
 */
export interface TextExpectation {
  readonly wording: string;
  /** For the report's expected field. */
  readonly expected: string;
  test(actual: string): boolean;
}

/** Whitespace as a reader sees it: runs collapse to one space, none at the ends. Playwright's toHaveText does the same. */
export function normalizeWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

export function compileRegex(source: string, where: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw configError('CEIL_REGEX', `${where}: invalid regular expression /${source}/: ${(error as Error).message.split(': ').pop() ?? ''}`);
  }
}

export interface TextCriteria {
  text?: string | undefined;
  equals?: string | undefined;
  regex?: string | undefined;
}

/** For element text and titles; both are compared with their whitespace collapsed. */
export function textExpectation(criteria: TextCriteria, where: string): TextExpectation {
  const given = (['text', 'equals', 'regex'] as const).filter((key) => criteria[key] !== undefined);
  if (given.length !== 1) {
    throw configError(
      'CEIL_BROWSER_TEXT_CRITERIA',
      `${where} needs exactly one of text (contains), equals or regex${given.length > 1 ? ` (found ${given.join(' and ')})` : ''}`,
    );
  }
  if (criteria.regex !== undefined) {
    const regex = compileRegex(criteria.regex, where);
    return { wording: `to match /${criteria.regex}/`, expected: `/${criteria.regex}/`, test: (actual) => regex.test(normalizeWhitespace(actual)) };
  }
  if (criteria.equals !== undefined) {
    const wanted = normalizeWhitespace(criteria.equals);
    return { wording: `to be "${wanted}"`, expected: wanted, test: (actual) => normalizeWhitespace(actual) === wanted };
  }
  const wanted = normalizeWhitespace(criteria.text ?? '');
  return { wording: `to contain "${wanted}"`, expected: wanted, test: (actual) => normalizeWhitespace(actual).includes(wanted) };
}

export interface UrlCriteria {
  url?: string | undefined;
  contains?: string | undefined;
  regex?: string | undefined;
}

/** A relative URL means one on the actor's baseUrl, as it does for browser.goto. */
export function resolveUrl(url: string, baseUrl: string | undefined, where: string): string {
  try {
    return new URL(url, baseUrl).href;
  } catch {
    throw configError(
      'CEIL_BROWSER_URL_INVALID',
      `${where}: "${url}" is not a URL${baseUrl === undefined ? ' and browser.open has no baseUrl to resolve it against' : ` and does not resolve against ${baseUrl}`}`,
      {
        hint: 'use an absolute http(s) URL, or give browser.open a baseUrl and use a path such as /login',
      },
    );
  }
}

/** URLs are compared exactly (after resolving against the baseUrl), by substring or by regex, never whitespace-collapsed. */
export function urlExpectation(criteria: UrlCriteria, baseUrl: string | undefined, where: string): TextExpectation {
  const given = (['url', 'contains', 'regex'] as const).filter((key) => criteria[key] !== undefined);
  if (given.length !== 1) {
    throw configError(
      'CEIL_BROWSER_URL_CRITERIA',
      `${where} needs exactly one of url (exact), contains or regex${given.length > 1 ? ` (found ${given.join(' and ')})` : ''}`,
    );
  }
  if (criteria.regex !== undefined) {
    const regex = compileRegex(criteria.regex, where);
    return { wording: `to match /${criteria.regex}/`, expected: `/${criteria.regex}/`, test: (actual) => regex.test(actual) };
  }
  if (criteria.contains !== undefined) {
    const wanted = criteria.contains;
    return { wording: `to contain "${wanted}"`, expected: wanted, test: (actual) => actual.includes(wanted) };
  }
  const wanted = resolveUrl(criteria.url ?? '', baseUrl, where);
  return { wording: `to be ${wanted}`, expected: wanted, test: (actual) => actual === wanted };
}

/**
 * browser.waitFor's url: a glob when it has a `*` (`**` crosses slashes, `*`
 * does not), else the exact URL, relative ones resolved against the baseUrl.
 */
export function urlPattern(pattern: string, baseUrl: string | undefined, where: string): TextExpectation {
  if (!pattern.includes('*')) return urlExpectation({ url: pattern }, baseUrl, where);
  const absolute = pattern.startsWith('/') && baseUrl !== undefined ? `${new URL(baseUrl).origin}${pattern}` : pattern;
  let source = '';
  for (let index = 0; index < absolute.length; index++) {
    const char = absolute[index]!;
    if (char === '*' && absolute[index + 1] === '*') {
      source += '.*';
      index++;
    } else if (char === '*') source += '[^/]*';
    else source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`^${source}$`);
  return { wording: `to match ${absolute}`, expected: absolute, test: (actual) => regex.test(actual) };
}
