import { describe, expect, it } from 'vitest';
import { fleetOutcomes, UNKNOWN_VERSION } from '../../src/gate/fleet.js';
import type { FleetOutcome, GateResult } from '../../src/gate/model.js';
import { describeFleetSize, describeFleetVersions } from '../../src/gate/render-common.js';
import { renderGateSummary } from '../../src/gate/render-console.js';
import { renderStepSummary } from '../../src/gate/render-github.js';
import { renderGateJUnit } from '../../src/gate/render-junit.js';
import type { VersionReading } from '../../src/gate/version-probe.js';
import { passResult } from './gate-fixture.js';

/** The fleet section of the verdict: how a found group's versions are tallied and told in every output. */

const found = {
  group: 'web',
  source: 'SRV _http._tcp.web.test at 127.0.0.1:5353',
  expected: { count: 4 },
  instances: ['web/10.0.3.7:8080', 'web/10.0.3.8:8080', 'web/10.0.3.9:8080', 'web/10.0.3.10:8080'],
};

const ok = (version: string) => ({ ok: true as const, version });

describe('fleetOutcomes', () => {
  it('tallies versions most common first and names the instances of every other version', () => {
    const versions = new Map<string, VersionReading>([
      ['web/10.0.3.7:8080', ok('1.5.0')],
      ['web/10.0.3.8:8080', ok('1.5.0')],
      ['web/10.0.3.9:8080', ok('1.4.1')],
      ['web/10.0.3.10:8080', { ok: false as const, code: 'CEIL_GATE_VERSION_TIMEOUT' as const, message: 'no answer' }],
    ]);
    const [fleet] = fleetOutcomes([found], versions);
    expect(fleet).toEqual({
      ...found,
      found: 4,
      versions: [
        { version: '1.5.0', count: 2, instances: ['web/10.0.3.7:8080', 'web/10.0.3.8:8080'] },
        { version: '1.4.1', count: 1, instances: ['web/10.0.3.9:8080'] },
        { version: UNKNOWN_VERSION, count: 1, instances: ['web/10.0.3.10:8080'] },
      ],
    });
    expect(describeFleetVersions(fleet!)).toBe('web: 2 × 1.5.0, 1 × 1.4.1 (web/10.0.3.9:8080), 1 × unknown (web/10.0.3.10:8080)');
    expect(describeFleetSize(fleet!)).toBe('4 instances via SRV _http._tcp.web.test at 127.0.0.1:5353, expected 4');
  });

  it('without a version probe, says only how many were found', () => {
    const [fleet] = fleetOutcomes([{ ...found, expected: { min: 3 } }], new Map());
    expect(fleet?.versions).toEqual([]);
    expect(describeFleetVersions(fleet!)).toBe('web: 4 instances');
    expect(describeFleetSize(fleet!)).toBe('4 instances via SRV _http._tcp.web.test at 127.0.0.1:5353, expected at least 3');
  });
});

describe('a short fleet in every output', () => {
  const fleet: FleetOutcome = {
    group: 'web',
    source: 'A/AAAA web.internal port 8080',
    expected: { count: 3 },
    found: 2,
    instances: ['web/10.0.3.7:8080', 'web/10.0.3.8:8080'],
    versions: [],
  };
  const result: GateResult = {
    ...passResult(),
    verdict: 'fail',
    exitCode: 1,
    reason: 'web: expected 3 instances, found 2: web/10.0.3.7:8080, web/10.0.3.8:8080',
    rounds: 0,
    targets: [],
    fleets: [fleet],
    findings: [
      {
        kind: 'fleet',
        target: 'web',
        code: 'CEIL_DISCOVERY_FLEET_SHORT',
        message: 'web: expected 3 instances, found 2: web/10.0.3.7:8080, web/10.0.3.8:8080',
        critical: true,
        round: 0,
      },
    ],
  };

  it('the console shows the fleet and the finding', () => {
    const text = renderGateSummary(result, { color: false });
    expect(text).toContain('fleets\n  web: 2 instances\n    2 instances via A/AAAA web.internal port 8080, expected 3');
    expect(text).toContain('fleet size [critical]: CEIL_DISCOVERY_FLEET_SHORT web: expected 3 instances, found 2');
  });

  it("JUnit fails the fleet suite's size case", () => {
    const xml = renderGateJUnit(result);
    expect(xml).toMatch(/<testsuite name="fleet web" tests="1" failures="1" errors="0"/);
    expect(xml).toContain('<failure message="web: expected 3 instances, found 2: web/10.0.3.7:8080, web/10.0.3.8:8080" type="CEIL_DISCOVERY_FLEET_SHORT">');
  });

  it('the GitHub summary has a Fleets section', () => {
    expect(renderStepSummary(result)).toContain('### Fleets\n\n- **web: 2 instances**');
  });
});
