// The loader hook testing.js registers (node's `module.register`), so a
// handler runs under `node --test` unchanged:
//
// - `gatehouse:endpoint/NAME@0.1.0`, which only componentize-js can provide,
//   becomes a module re-exporting offplatform.js's stand-in for NAME;
// - `./gatehouse.js`, which `gatehouse build` puts beside a handler and so is
//   usually not in the author's folder, becomes this package's gatehouse.js
//   when no such file exists (one that exists is used as it is).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { INTERFACES } from "./offplatform.js";

const SCHEME = "gatehouse:endpoint/";
const OFFPLATFORM = new URL("./offplatform.js", import.meta.url).href;
const SDK = new URL("./gatehouse.js", import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier.startsWith(SCHEME)) return { url: specifier, shortCircuit: true };
  if (specifier === "./gatehouse.js" && context.parentURL?.startsWith("file:")) {
    const beside = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(beside))) return { url: SDK, shortCircuit: true };
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith(SCHEME)) return next(url, context);
  const name = url.slice(SCHEME.length).replace(/@.*$/, "");
  const found = INTERFACES[name];
  if (!found) throw new Error(`${url}: the platform has no such interface`);
  const [binding, names] = found;
  // `export { … as name }`, not `export const name`: a name may be a reserved word (blobs' `delete`).
  const source = [
    `import { ${binding} as standIn } from ${JSON.stringify(OFFPLATFORM)};`,
    ...names.map((n, i) => `const item${i} = standIn[${JSON.stringify(n)}];`),
    `export { ${names.map((n, i) => `item${i} as ${n}`).join(", ")} };`,
  ].join("\n");
  return { format: "module", source, shortCircuit: true };
}
