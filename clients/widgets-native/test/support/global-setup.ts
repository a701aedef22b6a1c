// Starts the real service (tests/clients_server.py, from the repository's
// root) once for the run and hands its URL and tokens to the tests through
// the environment, which Jest's workers inherit. It serves until its stdin
// closes (global-teardown.ts).
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

const ROOT = path.resolve(__dirname, "../../../..");
const STARTUP_MS = 120000;

declare global {
  var __MOLAM_OPS_SERVER__: ChildProcess | undefined;
}

export default async function globalSetup(): Promise<void> {
  const child = spawn(path.join(ROOT, ".venv/bin/python"), ["-m", "tests.clients_server"], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  globalThis.__MOLAM_OPS_SERVER__ = child;
  const stdout = child.stdout;
  if (!stdout) throw new Error("tests.clients_server has no stdout");
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("tests.clients_server did not start in time")), STARTUP_MS);
    const lines = readline.createInterface({ input: stdout });
    lines.on("line", (text) => {
      if (!text.trim().startsWith("{")) return;
      clearTimeout(timer);
      lines.close();
      resolve(text);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tests.clients_server exited (${code}) before it served`));
    });
  });
  const { url, tokens } = JSON.parse(line) as { url: string; tokens: Record<string, string> };
  process.env.MOLAM_OPS_URL = url;
  process.env.MOLAM_OPS_TOKENS = JSON.stringify(tokens);
}
