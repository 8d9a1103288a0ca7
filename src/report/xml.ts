/**
 * A small XML writer for the JUnit reports (run and gate), in the manner of
 * Playwright's JUnit reporter: the document is built as plain data and
 * serialized in one pass. Escaping lives here, in one place, and makes any
 * string safe: markup characters become references, characters XML 1.0
 * forbids (C0 controls, lone surrogates, U+FFFE/U+FFFF) are dropped, and a
 * `]]>` inside CDATA is split across two sections. A CI server rejects a
 * whole report for one illegal byte, and failure messages carry such bytes:
 * a binary body, a WebSocket frame cut mid-character.
 */

export type XmlAttributes = Record<string, string | number>;

export interface XmlElement {
  name: string;
  attributes?: XmlAttributes;
  children?: XmlNode[];
}

export type XmlNode = XmlElement | { text: string } | { cdata: string };

// The complement of the XML 1.0 Char production. With the `u` flag a lone surrogate is its own code point and falls outside every range.
const forbiddenInXml10 = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

const textReferences: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
// In an attribute a parser turns raw tab, newline and carriage return into spaces; references keep them.
const attributeReferences: Record<string, string> = { ...textReferences, '"': '&quot;', '\t': '&#9;', '\n': '&#10;' };

/** Drops what XML 1.0 cannot carry at all; everything else can be escaped. */
export const legalXmlChars = (value: string): string => value.replace(forbiddenInXml10, '');

export const escapeXmlText = (value: string): string => legalXmlChars(value).replace(/[&<>\r]/g, (char) => textReferences[char]!);

export const escapeXmlAttribute = (value: string): string => legalXmlChars(value).replace(/[&<>"\t\n\r]/g, (char) => attributeReferences[char]!);

/** CDATA cannot contain its own terminator, so each `]]>` ends one section and the `>` opens the next. */
export const xmlCdata = (value: string): string => `<![CDATA[${legalXmlChars(value).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

const isElement = (node: XmlNode): node is XmlElement => 'name' in node;

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkedName(name: string): string {
  // Names come from this codebase, never from user input; a bad one is a programming error.
  if (!NAME.test(name)) throw new Error(`invalid XML name: ${JSON.stringify(name)}`);
  return name;
}

function openTag(element: XmlElement): string {
  const attributes = Object.entries(element.attributes ?? {})
    .map(([name, value]) => ` ${checkedName(name)}="${escapeXmlAttribute(String(value))}"`)
    .join('');
  return `<${checkedName(element.name)}${attributes}`;
}

function serializeInline(node: XmlNode): string {
  if (!isElement(node)) return 'text' in node ? escapeXmlText(node.text) : xmlCdata(node.cdata);
  const children = (node.children ?? []).filter((child) => !('text' in child) || child.text !== '');
  if (children.length === 0) return `${openTag(node)}/>`;
  return `${openTag(node)}>${children.map(serializeInline).join('')}</${node.name}>`;
}

function serializeIndented(element: XmlElement, depth: number): string[] {
  const children = element.children ?? [];
  const indent = '  '.repeat(depth);
  // Whitespace added around text would become part of it, so an element holding text is written on one line.
  if (!children.every(isElement) || children.length === 0) return [`${indent}${serializeInline(element)}`];
  return [`${indent}${openTag(element)}>`, ...children.flatMap((child) => serializeIndented(child, depth + 1)), `${indent}</${element.name}>`];
}

/** A whole document: the declaration, then the root indented by two spaces a level. */
export function serializeXmlDocument(root: XmlElement): string {
  return ['<?xml version="1.0" encoding="UTF-8"?>', ...serializeIndented(root, 0)].join('\n');
}
