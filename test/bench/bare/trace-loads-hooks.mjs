// Loader hooks for trace-loads.mjs (runs in Node's loader thread).
import { appendFileSync } from 'node:fs';

let file;

export function initialize(data) {
  file = data?.file;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    const resolved = await nextResolve(specifier, context);
    if (file) appendFileSync(file, `esm ${specifier} -> ${resolved.url}\n`);
    return resolved;
  } catch (error) {
    if (file) appendFileSync(file, `esm ${specifier} -> ERROR ${error.code ?? ''}\n`);
    throw error;
  }
}
