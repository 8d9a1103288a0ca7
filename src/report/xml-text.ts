/**
 * How report text is shaped for JUnit, before the XML writer (xml.ts)
 * escapes it: terminal colour codes are stripped, line endings become `\n`,
 * and attribute values are folded to one bounded line, which is how CI
 * servers show a failure's title.
 */
import { stripVTControlCharacters } from 'node:util';
import { legalXmlChars } from './xml.js';

export function junitText(text: string): string {
  return legalXmlChars(stripVTControlCharacters(text).replace(/\r\n?/g, '\n'));
}

// CI servers show the message attribute as a one-line title; the body holds the rest.
const MAX_ATTRIBUTE_LENGTH = 500;

/** Attribute values lose their newlines on parsing anyway, so they are folded to one line here, deliberately. */
export function junitAttribute(text: string): string {
  let line = junitText(text).replace(/\s+/g, ' ').trim();
  if (line.length > MAX_ATTRIBUTE_LENGTH) {
    // Cut before a possible surrogate half, which XML could not carry.
    line = `${line.slice(0, MAX_ATTRIBUTE_LENGTH - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
  }
  return line;
}
