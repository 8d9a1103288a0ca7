import { readFile } from 'node:fs/promises';
import type { SourceLocation } from '../core/source-location.js';
import type { Path } from './positions.js';

/**
 * The exact place of one field, read again from the file. Loading keeps only
 * coarse positions on its fast path; a run-time failure that has no step to
 * point at (a journey var's template) asks for the exact one here, once.
 * Undefined when the file is gone or no longer parses.
 */
export async function locateField(file: string, target: Path): Promise<SourceLocation | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    const { parseWithPositions } = await import('./yaml-positions.js');
    const parsed = parseWithPositions(text);
    if (parsed.errors.length > 0) return undefined;
    const position = parsed.positions.locate(target, false);
    return { file, line: position.line, column: position.column };
  } catch {
    return undefined;
  }
}
