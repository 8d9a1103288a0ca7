// Preload (`node --import <this file's URL>`) that records every module load a
// process attempts, so the bench can tell whether an HTTP-only run touched
// playwright. Both paths are watched:
//   - ESM import()/import: a resolve hook registered with module.register();
//     on Node 20 it runs in a loader thread, so it appends to a file, not stdout;
//   - CommonJS require() (including createRequire): Module._load, which the
//     ESM hooks do not see on Node 20.
// Each line is "<esm|cjs> <specifier> -> <resolved or ERROR>" and is appended to
// the file named by CEILING_TRACE_FILE.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.CEILING_TRACE_FILE;
if (file) {
  const load = Module._load;
  Module._load = function tracedLoad(request, parent, isMain) {
    try {
      const loaded = load.apply(this, [request, parent, isMain]);
      appendFileSync(file, `cjs ${request} -> ok\n`);
      return loaded;
    } catch (error) {
      appendFileSync(file, `cjs ${request} -> ERROR ${error.code ?? ''}\n`);
      throw error;
    }
  };
  register('./trace-loads-hooks.mjs', import.meta.url, { data: { file } });
}
