// Starts the real service once per run (python -m tests.clients_server from
// the repository root), hands its URL and tokens to the tests, stops it after.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

export interface LiveServer {
  url: string;
  tokens: Record<"alice" | "amadou" | "bruno" | "fatou" | "chloe", string>;
}

declare module "vitest" {
  export interface ProvidedContext {
    server: LiveServer;
  }
}

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const python = join(repo, ".venv", "bin", "python");
const START_TIMEOUT_MS = 120_000;

function firstLine(child: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      reject(new Error(`the live service did not start in ${START_TIMEOUT_MS / 1000} s:\n${stderr()}`));
    }, START_TIMEOUT_MS);
    lines.once("line", (line) => {
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

export default async function setup(project: TestProject) {
  if (!existsSync(python)) {
    throw new Error(
      `${python} is missing: the SDK's tests run against the real service. ` +
        "Make the Python environment first (`make venv` at the repository root).",
    );
  }
  const child = spawn(python, ["-m", "tests.clients_server"], {
    cwd: repo,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const server = JSON.parse(await firstLine(child, () => log)) as LiveServer;
  project.provide("server", server);

  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin!.end(); // the service stops when its standard input closes
    const kill = setTimeout(() => child.kill("SIGTERM"), 10_000);
    await exited;
    clearTimeout(kill);
  };
}
