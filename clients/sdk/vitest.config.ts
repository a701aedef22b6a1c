import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // one live service for the whole run (it takes ~30 s to start)
    globalSetup: ["test/global-setup.ts"],
    hookTimeout: 120_000,
    testTimeout: 60_000,
    // the files share that service's state (a global freeze shows on every
    // bank): one file at a time keeps each file's expectations its own
    fileParallelism: false,
  },
});
