// The package README's TypeScript examples compile under `tsc --strict` with no casts
// beyond what they show, against the SDK's sources (as its types are published).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(sdk, "..");

test("every ts and tsx block of the README type-checks (--strict)", () => {
  const readme = readFileSync(path.join(sdk, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```(tsx?)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
  assert.ok(blocks.length >= 7, `${blocks.length} TypeScript blocks`);
  const dir = mkdtempSync(path.join(tmpdir(), "remotemedia-readme-"));
  try {
    const files = blocks.map((b, i) => {
      const file = path.join(dir, `block${i}.${b.lang}`);
      writeFileSync(file, b.code);
      return file;
    });
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "ES2022",
          moduleResolution: "bundler",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          jsx: "react-jsx",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          isolatedModules: true,
          typeRoots: [path.join(root, "node_modules/@types")],
          baseUrl: dir,
          paths: {
            "@remotemedia/web": [path.join(sdk, "src/index.ts")],
            "@remotemedia/web/react": [path.join(sdk, "src/react.ts")],
            "@remotemedia/web/vue": [path.join(sdk, "src/vue.ts")],
            react: [path.join(root, "node_modules/@types/react")],
            "react/jsx-runtime": [path.join(root, "node_modules/@types/react/jsx-runtime")],
          },
        },
        files,
      }),
    );
    const tsc = spawnSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", dir], { encoding: "utf8" });
    assert.equal(tsc.status, 0, `${tsc.stdout}${tsc.stderr}`.replaceAll(`${dir}${path.sep}`, "README example "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
