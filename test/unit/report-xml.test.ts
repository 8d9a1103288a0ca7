import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, test } from 'vitest';
import type { FailureInfo } from '../../src/core/result.js';
import { renderGateJUnit } from '../../src/gate/render-junit.js';
import { JunitReporter } from '../../src/report/junit.js';
import { ReporterMultiplexer } from '../../src/report/multiplexer.js';
import { escapeXmlAttribute, escapeXmlText, serializeXmlDocument, xmlCdata, type XmlElement } from '../../src/report/xml.js';
import { Redactor } from '../../src/secrets/redactor.js';
import { failResult } from './gate-fixture.js';
import { brokenAttempt, captureStream, journeyResult, runResult, stepResult } from './report-fixture.js';

// Entity and reference processing on, as a CI server's parser would read the file; nothing trimmed, so every character is compared.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
});

function roundTrip(root: XmlElement): Record<string, unknown> {
  const xml = serializeXmlDocument(root);
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml) as Record<string, unknown>;
}

const FORBIDDEN = 'nul\u0000 bell\u0007 esc\u001b us\u001f lone\ud800 low\udc00 nonchar\ufffe\uffff';
const FORBIDDEN_REMOVED = 'nul bell esc us lone low nonchar';

describe('the XML serializer', () => {
  test('text keeps markup characters, quotes and references literal', () => {
    const text = `a < b && c > d "dq" 'sq' &amp; &nbsp; &#0; &#x41; ]]> end`;
    const parsed = roundTrip({ name: 'r', children: [{ name: 'x', children: [{ text }] }] });
    expect((parsed.r as Record<string, unknown>).x).toBe(text);
  });

  test('attributes keep markup characters, both quotes, tabs and newlines', () => {
    const value = `a < b && c > d "dq" 'sq' &lt; tab\tnewline\nreturn\rend`;
    const xml = serializeXmlDocument({ name: 'r', attributes: { value } });
    expect(xml).toContain('value="a &lt; b &amp;&amp; c &gt; d &quot;dq&quot; \'sq\' &amp;lt; tab&#9;newline&#10;return&#13;end"');
    // fast-xml-parser leaves character references in attributes alone, so only the named ones are checked by parsing.
    const plain = `a < b && c > d "dq" 'sq' &lt;`;
    expect((roundTrip({ name: 'r', attributes: { value: plain } }).r as Record<string, unknown>).value).toBe(plain);
  });

  test('drops characters XML 1.0 forbids, in text, attributes and CDATA, and keeps astral ones', () => {
    const parsed = roundTrip({
      name: 'r',
      attributes: { a: `${FORBIDDEN} 😀` },
      children: [
        { name: 't', children: [{ text: `${FORBIDDEN} 😀` }] },
        { name: 'c', children: [{ cdata: `${FORBIDDEN} 😀` }] },
      ],
    });
    const root = parsed.r as Record<string, unknown>;
    expect(root.a).toBe(`${FORBIDDEN_REMOVED} 😀`);
    expect(root.t).toBe(`${FORBIDDEN_REMOVED} 😀`);
    expect(root.c).toBe(`${FORBIDDEN_REMOVED} 😀`);
    expect(escapeXmlText('\u0000\u0008\u000b\u000c\ud83d')).toBe('');
    expect(escapeXmlAttribute('\u0000\u0008\u000b\u000c\udc00')).toBe('');
  });

  test('splits ]]> inside CDATA so the section cannot end early', () => {
    const body = 'before ]]> middle ]]]]> <tag> & after';
    expect(xmlCdata(body)).toBe('<![CDATA[before ]]]]><![CDATA[> middle ]]]]]]><![CDATA[> <tag> & after]]>');
    const parsed = roundTrip({ name: 'r', children: [{ name: 'c', children: [{ cdata: body }] }] });
    expect((parsed.r as Record<string, unknown>).c).toBe(body);
  });

  test('keeps a carriage return in text, where a parser would otherwise turn it into a newline', () => {
    expect(escapeXmlText('a\r\nb')).toBe('a&#13;\nb');
  });

  test('indents element children, writes text on the element line and closes empty elements', () => {
    const xml = serializeXmlDocument({
      name: 'a',
      attributes: { n: 1 },
      children: [
        { name: 'b', children: [{ text: 'one\ntwo' }] },
        { name: 'c', children: [{ name: 'd' }] },
        { name: 'e', children: [{ text: '' }] },
      ],
    });
    expect(xml).toBe(['<?xml version="1.0" encoding="UTF-8"?>', '<a n="1">', '  <b>one\ntwo</b>', '  <c>', '    <d/>', '  </c>', '  <e/>', '</a>'].join('\n'));
  });

  test('refuses an element or attribute name that is not a plain XML name', () => {
    expect(() => serializeXmlDocument({ name: 'a b' })).toThrow(/invalid XML name/);
    expect(() => serializeXmlDocument({ name: 'a', attributes: { 'x="1" y': 'v' } })).toThrow(/invalid XML name/);
  });
});

describe('JUnit output and secrets', () => {
  // Markup characters in the secret: its escaped form must not leak either.
  const SECRET = 'tok<&"en>-5f3a9c1e7b2d';
  const escapedForms = [SECRET, escapeXmlText(SECRET), escapeXmlAttribute(SECRET)];

  test('a secret planted in a failure message of a run stays redacted', async () => {
    const redactor = new Redactor();
    expect(redactor.add(SECRET, 'api token')).toBe(true);
    const failure: FailureInfo = {
      class: 'assertion',
      code: 'CEIL_HTTP_STATUS',
      message: `expected 200, got 401 for ${SECRET}`,
      expected: 200,
      actual: 401,
      hint: `token ${SECRET}`,
    };
    const attempt = brokenAttempt(1, failure);
    attempt.steps[1] = stepResult({ index: 1, name: 'read back', status: 'failed', failure });
    attempt.cleanupErrors = [`could not revoke ${SECRET}`];
    const journey = journeyResult({ name: 'token roundtrip', status: 'failed', attempts: [attempt] });
    const stdout = captureStream();
    const multiplexer = new ReporterMultiplexer({ reporters: [new JunitReporter({ stdout: stdout.stream })], redactor, warn: () => undefined });

    await multiplexer.onRunEnd(runResult([journey]));

    const xml = stdout.text();
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('expected 200, got 401 for');
    for (const form of escapedForms) expect(xml).not.toContain(form);
    expect(JSON.stringify(parser.parse(xml))).not.toContain('tok<&');
  });

  test('a secret planted in a gate finding stays redacted in the gate JUnit', () => {
    const redactor = new Redactor();
    expect(redactor.add(SECRET, 'api token')).toBe(true);
    const result = failResult();
    result.findings = result.findings.map((finding) => ({ ...finding, message: `${finding.message} (token ${SECRET})` }));
    // The gate redacts its verdict once, before any output renders it.
    const xml = renderGateJUnit(redactor.redactDeep(result));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('(token ');
    for (const form of escapedForms) expect(xml).not.toContain(form);
  });
});
