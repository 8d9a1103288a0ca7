const sizeUnits: Record<string, number> = { B: 1, KB: 1000, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export const BYTE_SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)$/;

/** "4MiB" → 4194304; undefined when the text is not a size with a unit. */
export function parseByteSize(text: string): number | undefined {
  const match = BYTE_SIZE_PATTERN.exec(text.trim());
  return match ? Math.floor(Number(match[1]) * (sizeUnits[match[2]!] ?? 1)) : undefined;
}
