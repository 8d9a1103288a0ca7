export type VarFlags = { ok: true; vars: Record<string, string> } | { ok: false; error: string };

/** `--var name=value`, repeatable; the name must be an identifier so templates can use it. */
export function parseVarFlags(flags: readonly string[]): VarFlags {
  const vars: Record<string, string> = {};
  for (const flag of flags) {
    const split = flag.indexOf('=');
    const name = split === -1 ? flag : flag.slice(0, split);
    if (split === -1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      return { ok: false, error: `--var "${flag}": expected name=value with an identifier name, e.g. --var base=http://127.0.0.1:8080` };
    }
    vars[name] = flag.slice(split + 1);
  }
  return { ok: true, vars };
}
