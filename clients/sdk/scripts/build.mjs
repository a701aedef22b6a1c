// tsc emits no declaration file for a .d.ts source: the generated schema
// types are copied next to the index.d.ts that imports them.
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
rmSync(join(sdk, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(sdk, "tsconfig.build.json")], { stdio: "inherit" });
copyFileSync(join(sdk, "src/schema.d.ts"), join(sdk, "dist/schema.d.ts"));
