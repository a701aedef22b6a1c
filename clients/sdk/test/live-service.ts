// The real service every client package tests against, whatever its test
// runner: start it (python -m tests.clients_server from the repository
// root), the demo operators' client options, a port that refuses
// connections. Node only; no test runner and no SDK build imported here, so
// vitest (SDK, React widgets) and Jest (React Native widgets) share it.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";

export type Operator = "alice" | "amadou" | "bruno" | "fatou" | "chloe";

export interface LiveServer {
  url: string;
  tokens: Record<Operator, string>;
}

export interface RunningService {
  server: LiveServer;
  /** Close its standard input (it stops then); SIGTERM if it lingers. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 120_000;

function firstLine(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      reject(new Error(`the live service did not start in ${START_TIMEOUT_MS / 1000} s:\n${stderr()}`));
    }, START_TIMEOUT_MS);
    // the one JSON line says where it is; anything before it is not for us
    lines.on("line", (line) => {
      if (!line.trim().startsWith("{")) return;
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the live service exited (${code}) before it said where it is:\n${stderr()}`));
    });
  });
}

/** Starts the service of the repository at `repo` (its root directory: the
 *  callers know it from their own location, as ESM or CommonJS). */
export async function startService(repo: string): Promise<RunningService> {
  const python = join(repo, ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new Error(
      `${python} is missing: the clients' tests run against the real service. ` +
        "Make the Python environment first (`make venv` at the repository root).",
    );
  }
  const child = spawn(python, ["-m", "tests.clients_server"], { cwd: repo, stdio: ["pipe", "pipe", "pipe"] });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const server = JSON.parse(await firstLine(child, () => log)) as LiveServer;
  return {
    server,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin!.end();
      const kill = setTimeout(() => child.kill("SIGTERM"), 10_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** The options of a client acting as `who` (null: no token) on `server`;
 *  each package adds its own transport (fetch, WebSocket) and retry policy. */
export function operatorOptions(server: LiveServer, who: Operator | null) {
  return { baseUrl: server.url, token: () => (who ? server.tokens[who] : null) };
}

/** A port on 127.0.0.1 nothing listens on: a server opened, then closed. */
export async function closedPort(): Promise<number> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const address = listener.address();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}
