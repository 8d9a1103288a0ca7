/**
 * Reads the imports of the source tree and checks them against the layer
 * table: which folder imports which, and which files import each other in a
 * loop. It works on a map of path → text, so its tests can feed it a made-up
 * tree with a planted fault.
 *
 * Every kind of import counts: `import type`, `export ... from`, side-effect
 * imports and dynamic `import()`. A type-only import ties two files together
 * for a reader as much as a value import does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import, between files named by their path from the repository root, with forward slashes. */
export interface ImportEdge {
  from: string;
  /** 1-based line of the import in `from`. */
  line: number;
  /** The specifier as written, e.g. `../core/deadline.js`. */
  specifier: string;
  /** The `.ts` file it resolves to. */
  to: string;
}

export interface LayerRules {
  /** Folder under src/ → the other folders its files may import. */
  allowed: Readonly<Record<string, readonly string[]>>;
  /** Top-level files of src/ that every folder may import. */
  importableFromEverywhere: readonly string[];
}

const SOURCE_ROOT = 'src';

/** Every .ts file under `dir` (a path from `root`), keyed by its path from `root`. */
export function readSourceTree(root: string, dir = SOURCE_ROOT): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    files.set(file, readFileSync(path.join(root, file), 'utf8'));
  }
  return files;
}

/** The relative imports of each file; package and `node:` imports are not part of the layering. */
export function importEdges(files: ReadonlyMap<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [from, text] of files) {
    for (const reference of ts.preProcessFile(text, true, true).importedFiles) {
      const specifier = reference.fileName;
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue;
      // NodeNext source names the emitted `.js`; the file on disk is the `.ts` next to it.
      const to = path.posix.join(path.posix.dirname(from), specifier).replace(/\.js$/, '.ts');
      const line = text.slice(0, reference.pos).split('\n').length;
      edges.push({ from, line, specifier, to });
    }
  }
  return edges;
}

/** `src/steps/http/step.ts` → `steps`; a top-level file is its own unit: `src/version.ts` → `version.ts`. */
function unitOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== SOURCE_ROOT || parts.length < 2) return undefined;
  return parts[1];
}

/** One line per import the rules forbid, naming the file, the line and the import. */
export function layerViolations(edges: readonly ImportEdge[], rules: LayerRules): string[] {
  const violations: string[] = [];
  const everywhere = new Set(rules.importableFromEverywhere);
  const isFolder = (unit: string) => Object.hasOwn(rules.allowed, unit);
  for (const edge of edges) {
    const fromUnit = unitOf(edge.from);
    const toUnit = unitOf(edge.to);
    const where = `${edge.from}:${edge.line} imports '${edge.specifier}'`;
    if (fromUnit === undefined) continue;
    if (toUnit === undefined) {
      violations.push(`${where} (${edge.to}), outside ${SOURCE_ROOT}/`);
      continue;
    }
    if (!isFolder(fromUnit) && !everywhere.has(fromUnit)) {
      violations.push(`${where}: ${SOURCE_ROOT}/${fromUnit} has no row in the layer table; add one`);
      continue;
    }
    if (fromUnit === toUnit || everywhere.has(toUnit)) continue;
    const allowed = rules.allowed[fromUnit] ?? [];
    if (allowed.includes(toUnit)) continue;
    const may = allowed.length === 0 ? 'nothing from other folders' : `only ${allowed.join(', ')}`;
    const target = isFolder(toUnit) || everywhere.has(toUnit) ? toUnit : `${toUnit}, which has no row in the layer table`;
    violations.push(`${where} (${target}): ${fromUnit} may import ${may}`);
  }
  return violations;
}

/**
 * The file cycles: every set of files that reach each other through imports
 * (a strongly connected component of more than one file, or a file that
 * imports itself), each sorted, the list sorted by its first file.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    if (!next.has(to)) next.set(to, new Set());
    next.get(from)?.add(to);
  }
  // Tarjan's algorithm, with an explicit stack so a deep tree cannot overflow the call stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  let counter = 0;
  for (const start of [...next.keys()].sort()) {
    if (index.has(start)) continue;
    const work: { file: string; pending: string[] }[] = [];
    const enter = (file: string) => {
      index.set(file, counter);
      low.set(file, counter);
      counter += 1;
      stack.push(file);
      onStack.add(file);
      work.push({ file, pending: [...(next.get(file) ?? [])].sort() });
    };
    enter(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const target = frame.pending.shift();
      if (target !== undefined) {
        if (!index.has(target)) enter(target);
        else if (onStack.has(target)) low.set(frame.file, Math.min(low.get(frame.file)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(frame.file)!));
      if (low.get(frame.file) !== index.get(frame.file)) continue;
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.file);
      const selfImport = next.get(frame.file)?.has(frame.file) ?? false;
      if (component.length > 1 || selfImport) cycles.push(component.sort());
    }
  }
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One loop through a cycle's files, as `a.ts → b.ts → a.ts`, with the imports that close it. */
export function describeCycle(cycle: readonly string[], edges: readonly ImportEdge[]): string {
  const members = new Set(cycle);
  const start = cycle[0]!;
  // Breadth-first inside the cycle: the shortest loop back to its first file.
  const cameFrom = new Map<string, ImportEdge>();
  const queue = [start];
  let closing: ImportEdge | undefined;
  while (queue.length > 0 && closing === undefined) {
    const file = queue.shift()!;
    for (const edge of edges) {
      if (edge.from !== file || !members.has(edge.to)) continue;
      if (edge.to === start) {
        closing = edge;
        break;
      }
      if (!cameFrom.has(edge.to)) {
        cameFrom.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
  }
  const loop: ImportEdge[] = [];
  for (let edge = closing; edge !== undefined; edge = edge.from === start ? undefined : cameFrom.get(edge.from)) loop.unshift(edge);
  const path = [start, ...loop.map((edge) => edge.to)].join(' → ');
  const imports = loop.map((edge) => `${edge.from}:${edge.line} '${edge.specifier}'`).join(', ');
  const others = cycle.filter((file) => !loop.some((edge) => edge.from === file));
  return `${path} (${imports})${others.length > 0 ? `; also in the same cycle: ${others.join(', ')}` : ''}`;
}

/** The cycles not on the known list, described, then each known cycle that no longer exists. */
export function cycleViolations(edges: readonly ImportEdge[], known: readonly (readonly string[])[]): string[] {
  const key = (files: readonly string[]) => [...files].sort().join('\n');
  const knownKeys = new Set(known.map(key));
  const cycles = importCycles(edges);
  const foundKeys = new Set(cycles.map(key));
  return [
    ...cycles.filter((cycle) => !knownKeys.has(key(cycle))).map((cycle) => `import cycle: ${describeCycle(cycle, edges)}`),
    ...known
      .filter((files) => !foundKeys.has(key(files)))
      .map((files) => `known cycle ${files.join(', ')} is no longer a cycle: delete its entry from KNOWN_CYCLES`),
  ];
}
