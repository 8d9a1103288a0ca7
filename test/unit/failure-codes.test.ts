import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { renderFailureCodesDoc } from '../../src/core/failure-codes-doc.js';
import { CODE_CLASSES, FAILURE_CODES, isFailureCode, type CodeClass, type FailureCode } from '../../src/core/failure-codes.js';
import type { FailureClass } from '../../src/core/failure.js';
import { failureClasses } from '../../src/core/failure.js';
import type { YamlProblemCode } from '../../src/journey/yaml-positions.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const catalogueFile = path.join('src', 'core', 'failure-codes.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(relative);
    return entry.name.endsWith('.ts') && relative !== catalogueFile ? [relative] : [];
  });
}

// A whole code: not the prefix of a longer one, and not the head of a template such as `CEIL_YAML_${…}`.
const codeLiteral = /\bCEIL_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_$])/g;
// A code built from a prefix and a typed suffix; the compiler checks each expansion against the table.
const codeFamily = /\b(CEIL_[A-Z0-9_]+_)\$\{/g;

interface Usage {
  literals: Map<string, string>;
  families: Set<string>;
}

function scanSources(): Usage {
  const literals = new Map<string, string>();
  const families = new Set<string>();
  for (const file of sourceFiles('src')) {
    const text = readFileSync(path.join(root, file), 'utf8');
    for (const [code] of text.matchAll(codeLiteral)) if (!literals.has(code)) literals.set(code, file);
    for (const [, prefix] of text.matchAll(codeFamily)) families.add(prefix!);
  }
  return { literals, families };
}

describe('the failure-code catalogue', () => {
  const usage = scanSources();
  const codes = Object.keys(FAILURE_CODES);

  it('lists every CEIL_ code written in src/', () => {
    const missing = [...usage.literals].filter(([code]) => !isFailureCode(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
    // Guard against a scan that silently finds nothing.
    expect(usage.literals.size).toBeGreaterThan(100);
  });

  it('lists no code that src/ never emits', () => {
    const unused = codes.filter((code) => !usage.literals.has(code) && ![...usage.families].some((prefix) => code.startsWith(prefix)));
    expect(unused).toEqual([]);
  });

  it('builds codes from prefixes only for the YAML families, whose members are exactly the parser problems', () => {
    expect([...usage.families].sort()).toEqual(['CEIL_CONFIG_YAML_', 'CEIL_YAML_']);
    expectTypeOf<Extract<FailureCode, `CEIL_YAML_${string}`>>().toEqualTypeOf<`CEIL_YAML_${YamlProblemCode}`>();
    expectTypeOf<Extract<FailureCode, `CEIL_CONFIG_YAML_${string}`>>().toEqualTypeOf<`CEIL_CONFIG_YAML_${YamlProblemCode}`>();
  });

  it('gives every code a known class and a one-line meaning', () => {
    expectTypeOf<FailureClass>().toExtend<CodeClass>();
    expect(failureClasses.every((failureClass) => failureClass in CODE_CLASSES)).toBe(true);
    for (const [code, entry] of Object.entries(FAILURE_CODES)) {
      expect(entry.class in CODE_CLASSES, code).toBe(true);
      expect(entry.meaning, code).toMatch(/^\S.*\.$/);
      expect(entry.meaning, code).not.toContain('\n');
    }
  });

  it('is what docs/failure-codes.md says (run `npm run docs:codes` after changing the table)', () => {
    const committed = readFileSync(path.join(root, 'docs', 'failure-codes.md'), 'utf8');
    expect(committed).toBe(renderFailureCodesDoc());
    for (const code of codes) expect(committed).toContain(`\`${code}\``);
  });
});
