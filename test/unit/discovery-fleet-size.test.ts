import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkFleetSize, DISCOVERY_PROBLEM_CODES, fillTargetValues, FLEET_SIZE_CODES, parseDnsServer, targetReferences } from '../../src/discovery/index.js';

const fleet = (count: number) => Array.from({ length: count }, (_, index) => ({ name: `web/10.0.3.${index + 1}:8080` }));

describe('checkFleetSize', () => {
  it('passes the expected count, at least min, and any fleet without an expectation', () => {
    expect(checkFleetSize('web', fleet(8), { count: 8 })).toEqual({ verdict: 'ok' });
    expect(checkFleetSize('web', fleet(6), { min: 6 })).toEqual({ verdict: 'ok' });
    expect(checkFleetSize('web', fleet(9), { min: 6 })).toEqual({ verdict: 'ok' });
    expect(checkFleetSize('web', fleet(3), undefined)).toEqual({ verdict: 'ok' });
  });

  it('fails a short fleet, listing what it found', () => {
    expect(checkFleetSize('web', fleet(7), { count: 8 })).toEqual({
      verdict: 'fail',
      code: 'CEIL_DISCOVERY_FLEET_SHORT',
      message:
        'web: expected 8 instances, found 7: web/10.0.3.1:8080, web/10.0.3.2:8080, web/10.0.3.3:8080, web/10.0.3.4:8080, web/10.0.3.5:8080, web/10.0.3.6:8080, web/10.0.3.7:8080',
    });
    expect(checkFleetSize('web', fleet(2), { min: 3 })).toEqual({
      verdict: 'fail',
      code: 'CEIL_DISCOVERY_FLEET_SHORT',
      message: 'web: expected at least 3 instances, found 2: web/10.0.3.1:8080, web/10.0.3.2:8080',
    });
  });

  it('fails an instance that should not exist', () => {
    expect(checkFleetSize('web', fleet(2), { count: 1 })).toEqual({
      verdict: 'fail',
      code: 'CEIL_DISCOVERY_FLEET_EXCESS',
      message: 'web: expected 1 instance, found 2: web/10.0.3.1:8080, web/10.0.3.2:8080',
    });
  });

  it('calls a fleet of none inconclusive, whatever was expected', () => {
    for (const expect_ of [{ count: 3 }, { min: 1 }, undefined]) {
      expect(checkFleetSize('web', [], expect_)).toMatchObject({ verdict: 'inconclusive', code: 'CEIL_DISCOVERY_EMPTY' });
    }
  });
});

describe('target templates', () => {
  it('fills plain target references and leaves every other template as written', () => {
    const values = { url: 'http://10.0.3.7:8080', name: 'web/10.0.3.7:8080' };
    expect(fillTargetValues('{{ target.url }}/api?from={{ env.WHO }}&n={{target.name}}', values)).toBe(
      'http://10.0.3.7:8080/api?from={{ env.WHO }}&n=web/10.0.3.7:8080',
    );
    expect(fillTargetValues('no template', values)).toBe('no template');
    expect(fillTargetValues('{{ target.region }}', values)).toBe('{{ target.region }}');
    expect(fillTargetValues('{{ broken', values)).toBe('{{ broken');
  });

  it('finds target references and says which are not plain', () => {
    expect(targetReferences('{{ target.url }} {{ vars.x }} {{ upper(target.host) }} {{ target.a.b }}')).toEqual([
      { key: 'url', plain: true },
      { key: 'host', plain: false },
      { plain: false },
    ]);
  });
});

describe('parseDnsServer', () => {
  it('reads IPv4 and bracketed IPv6 with a port, or port 53 without', () => {
    expect(parseDnsServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseDnsServer('[::1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseDnsServer('10.96.0.10')).toEqual({ host: '10.96.0.10', port: 53 });
  });

  it('refuses names, bad ports and bare IPv6 with a port', () => {
    for (const text of ['dns.example.com:53', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1:', '::1:53', '']) expect(parseDnsServer(text)).toBeUndefined();
  });
});

describe('the discovery codes', () => {
  it('are each documented in README, with their outcome', async () => {
    const readme = await readFile('README.md', 'utf8');
    for (const code of DISCOVERY_PROBLEM_CODES) expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| inconclusive \\|`));
    for (const code of FLEET_SIZE_CODES) expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| fail \\|`));
  });
});
