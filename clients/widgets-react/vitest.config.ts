import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "jsdom",
    include: ["test/**/*.test.{ts,tsx}"],
    // the SDK's: one live service (python -m tests.clients_server) per run
    globalSetup: ["../sdk/test/global-setup.ts"],
    setupFiles: ["test/setup.ts"],
    hookTimeout: 120_000,
    testTimeout: 60_000,
    // the files share that service's state (a global freeze shows on every
    // bank): one file at a time keeps each file's expectations its own
    fileParallelism: false,
  },
});
