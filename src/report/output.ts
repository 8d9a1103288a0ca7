/**
 * Where a file-producing reporter puts its text: a file (parents created,
 * written beside and renamed so a reader never sees half a report) or a
 * stream. Resolving only once the stream took the chunk lets the CLI exit
 * without cutting stdout short.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type OutputStream = NodeJS.WritableStream;

export interface OutputTarget {
  /** Absent: the text goes to `stdout`. */
  path?: string;
  stdout: OutputStream;
}

export function writeToStream(stream: OutputStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}

export async function writeToFile(filePath: string, text: string): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  const staging = `${filePath}.${process.pid}.tmp`;
  try {
    await writeFile(staging, text, 'utf8');
    await rename(staging, filePath);
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
}

export function writeOutput(target: OutputTarget, text: string): Promise<void> {
  return target.path === undefined ? writeToStream(target.stdout, text) : writeToFile(target.path, text);
}
