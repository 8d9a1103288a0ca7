import { describe, expect, it } from 'vitest';
import { writeGateOutputs, type GateOutput } from '../../src/gate/outputs.js';
import type { GateResult } from '../../src/gate/model.js';
import { Redactor } from '../../src/secrets/redactor.js';

/** The gate's outputs are isolated: one that throws is reported by name, and the ones after it still run. */

const result = { verdict: 'pass', exitCode: 0 } as GateResult;

describe('writeGateOutputs', () => {
  it('runs every output in order, reports the one that failed by name and reason, and keeps the secret out of the warning', async () => {
    const ran: string[] = [];
    const warnings: string[] = [];
    const redactor = new Redactor();
    redactor.add('hunter2-secret-value', 'secret');
    const outputs: GateOutput[] = [
      { name: 'verdict v.json', write: async () => void ran.push('verdict') },
      {
        name: 'junit /nope/gate.xml',
        write: async () => {
          throw new Error('EACCES: permission denied,\n open /nope/gate.xml (token hunter2-secret-value)');
        },
      },
      { name: 'console', write: async (seen) => void ran.push(`console ${seen.verdict}`) },
    ];
    const faults = await writeGateOutputs(outputs, result, { redactor, warn: (line) => warnings.push(line) });
    expect(ran).toEqual(['verdict', 'console pass']);
    expect(faults).toHaveLength(1);
    expect(faults[0]!.output).toBe('junit /nope/gate.xml');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^ceiling gate: output "junit \/nope\/gate\.xml" failed: EACCES: permission denied, open \/nope\/gate\.xml/);
    expect(warnings[0]).not.toContain('hunter2-secret-value');
    expect(warnings[0]).not.toContain('\n');
  });

  it('reports a thrown non-error value too', async () => {
    const warnings: string[] = [];
    const faults = await writeGateOutputs([{ name: 'pushgateway', write: () => Promise.reject('refused') }], result, {
      redactor: new Redactor(),
      warn: (line) => warnings.push(line),
    });
    expect(faults).toEqual([{ output: 'pushgateway', message: 'refused' }]);
  });
});
