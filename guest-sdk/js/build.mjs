// Builds one JavaScript endpoint into a component: node build.mjs <index.js> <out.wasm> <wit dir>.
// Run by `gatehouse build` / `gatehouse serve` from the toolchain folder they install.
//
// `node build.mjs --transpile <dir>` first turns each TypeScript file of a
// staged endpoint (index.ts and the modules it imports as "./name.js") into
// the JavaScript beside it: types are removed, nothing else changes.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

if (process.argv[2] === "--transpile") {
  const { transform } = await import("esbuild");
  const dir = process.argv[3];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
    const source = await readFile(join(dir, name), "utf8");
    try {
      const { code } = await transform(source, { loader: "ts", format: "esm", target: "es2022", sourcefile: name });
      await writeFile(join(dir, name.replace(/\.ts$/, ".js")), code);
    } catch (e) {
      // esbuild's message names the file, line and column.
      console.error(e.message);
      process.exit(1);
    }
  }
  process.exit(0);
}

const { componentize } = await import("@bytecodealliance/componentize-js");
const [source, out, wit] = process.argv.slice(2);
const { component } = await componentize({
  sourcePath: source,
  witPath: wit,
  worldName: "endpoint",
  // The guest reaches the network only through gatehouse:endpoint/http-out.
  disableFeatures: ["http", "fetch-event"],
});
await writeFile(out, component);
