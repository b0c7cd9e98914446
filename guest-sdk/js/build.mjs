// Builds one JavaScript endpoint into a component: node build.mjs <index.js> <out.wasm> <wit dir>.
// Run by `gatehouse build` / `gatehouse serve` from the toolchain folder they install.
import { componentize } from "@bytecodealliance/componentize-js";
import { writeFile } from "node:fs/promises";

const [source, out, wit] = process.argv.slice(2);
const { component } = await componentize({
  sourcePath: source,
  witPath: wit,
  worldName: "endpoint",
  // The guest reaches the network only through gatehouse:endpoint/http-out.
  disableFeatures: ["http", "fetch-event"],
});
await writeFile(out, component);
