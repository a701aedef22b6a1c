// Starts the real service once for the run (the workspace's live-service.ts,
// as the SDK's and the React widgets' tests do) and hands its URL and tokens
// to the tests through the environment, which Jest's workers inherit.
import path from "node:path";
import { startService, type RunningService } from "../../../sdk/test/live-service";

const ROOT = path.resolve(__dirname, "../../../..");

declare global {
  var __MOLAM_OPS_SERVICE__: RunningService | undefined;
}

export default async function globalSetup(): Promise<void> {
  const service = await startService(ROOT);
  globalThis.__MOLAM_OPS_SERVICE__ = service;
  process.env.MOLAM_OPS_URL = service.server.url;
  process.env.MOLAM_OPS_TOKENS = JSON.stringify(service.server.tokens);
}
