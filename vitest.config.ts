import { defineConfig } from 'vitest/config';

/** Compiles better-sqlite3 three times: run alone, after everything else, so it cannot starve timing-sensitive tests. */
const INSTALL_TESTS = ['test/e2e/install.test.ts'];
const BUSY_MACHINE_TESTS = ['test/e2e/busy-machine.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          exclude: [...BUSY_MACHINE_TESTS, ...INSTALL_TESTS],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // Busy loops on every core: run after the suite, alone, so they load the machine for their own tests only.
        extends: true,
        test: { name: 'busy-machine', include: BUSY_MACHINE_TESTS, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'install', include: INSTALL_TESTS, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
