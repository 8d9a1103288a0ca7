#!/usr/bin/env node
/**
 * Writes docs/failure-codes.md from the failure-code catalogue
 * (src/core/failure-codes.ts). Run through `npm run docs:codes`, which
 * compiles first; a unit test fails while the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { renderFailureCodesDoc } = await import(`${root}dist/src/core/failure-codes-doc.js`);
writeFileSync(`${root}docs/failure-codes.md`, renderFailureCodesDoc());
