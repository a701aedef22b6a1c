// After tsc: dist/tokens.js gets the tokens' values written in, instead of
// importing tokens.json, which plain Node ESM refuses without an import
// attribute and some bundlers (React Native's) cannot parse with one.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "dist", "tokens.js");
const statement = 'import source from "./tokens.json";';
const code = readFileSync(file, "utf8");
if (!code.includes(statement)) throw new Error(`${file} no longer has: ${statement}`);
const values = JSON.stringify(JSON.parse(readFileSync(join(root, "src", "tokens.json"), "utf8")), null, 2);
writeFileSync(file, code.replace(statement, `const source = ${values};`));
