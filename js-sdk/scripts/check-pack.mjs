// The last step of `npm pack` (prepack, after the setup and build): every runtime file
// the SDK loads (ASSET_FILES, the SDK's own list) is in dist/ and not empty, or the pack
// fails here, so no tarball (or dry-run listing) ever leaves out the runtime's .wasm.
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "../dist");
const { ASSET_FILES } = await import(path.join(dist, "index.js"));
const missing = ["index.js", ...Object.values(ASSET_FILES)].filter((file) => {
  try {
    return statSync(path.join(dist, file)).size === 0;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.error(`[pack] dist/ lacks runtime files: ${missing.join(", ")} (run node js-sdk/scripts/build.mjs)`);
  process.exit(1);
}
console.error(`[pack] dist/ has the ${Object.keys(ASSET_FILES).length} runtime files`);
