/**
 * Text bound for XML must be made legal before it reaches the serializer:
 * xmlbuilder2 escapes markup (`<`, `&`, quotes) but passes through C0
 * controls and lone surrogates, and one of those makes a CI server reject
 * the whole report. Failure messages carry such bytes: coloured output from
 * a service, a binary body, a WebSocket frame cut mid-character.
 */
import { stripVTControlCharacters } from 'node:util';

// XML 1.0 Char production. With the `u` flag a lone surrogate is its own code point and falls outside every range.
const invalidInXml10 = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

// xmlbuilder2 escapes `&` only when it does not already look like a reference, so `&nbsp;` (undefined in XML)
// or `&#0;` (an illegal character) would pass through as markup. Escaping exactly those keeps the text literal.
const referenceLookalike = /&(?=[A-Za-z]+;|#\d+;)/g;

export function xmlSafeText(text: string): string {
  return stripVTControlCharacters(text).replace(/\r\n?/g, '\n').replace(invalidInXml10, '').replace(referenceLookalike, '&amp;');
}

// CI servers show the message attribute as a one-line title; the body holds the rest.
const MAX_ATTRIBUTE_LENGTH = 500;

/** Attribute values lose their newlines on parsing anyway, so they are folded to one line here, deliberately. */
export function xmlSafeAttribute(text: string): string {
  let line = xmlSafeText(text).replace(/\s+/g, ' ').trim();
  if (line.length > MAX_ATTRIBUTE_LENGTH) {
    // Cut before a possible surrogate half and before a half-escaped `&amp;`.
    line = `${line.slice(0, MAX_ATTRIBUTE_LENGTH - 1).replace(/[\uD800-\uDBFF]$/, '').replace(/&[A-Za-z]{0,3}$/, '')}…`;
  }
  return line;
}
