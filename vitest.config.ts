import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './test/plain-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'suite', include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'], exclude: ['test/e2e/busy-machine.test.ts'], sequence: { groupOrder: 0 } },
      },
      {
        // Busy loops on every core: run after everything else, alone, so they load the machine for their own tests only.
        extends: true,
        test: { name: 'busy-machine', include: ['test/e2e/busy-machine.test.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
