import { defineConfig } from 'vitest/config';

/** Compiles better-sqlite3 three times: run alone, after everything else, so it cannot starve timing-sensitive tests. */
const INSTALL_TESTS = ['test/e2e/install.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'], exclude: INSTALL_TESTS, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'install', include: INSTALL_TESTS, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
