// Positive control for trace-loads.mjs: tries to load playwright both ways. The
// package need not be installed; the attempt is what the tracer must see.
import { createRequire } from 'node:module';

await import('playwright').catch(() => {});
try {
  createRequire(import.meta.url)('playwright-core');
} catch {
  // not installed: fine, the attempt was recorded
}
