// Starts the real service once per run (live-service.ts), hands its URL and
// tokens to the tests, stops it after.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startService, type LiveServer } from "./live-service.js";

export type { LiveServer };

declare module "vitest" {
  export interface ProvidedContext {
    server: LiveServer;
  }
}

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export default async function setup(project: TestProject) {
  const service = await startService(repo);
  project.provide("server", service.server);
  return service.stop;
}
