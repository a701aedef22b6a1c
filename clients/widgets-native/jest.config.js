// Jest on React Native's own preset (its mocks of the native modules, the
// Metro babel transform), against the real service: test/support/global-setup.ts
// starts it once for the whole run.
import path from "node:path";

const here = import.meta.dirname;
const clients = path.resolve(here, "..");

export default {
  preset: "@react-native/jest-preset",
  rootDir: here,
  testMatch: ["<rootDir>/test/**/*.test.tsx"],
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  setupFilesAfterEnv: ["<rootDir>/test/support/setup.ts"],
  moduleNameMapper: {
    // the workspace's SDK and the shared hooks and model, from source (no build step)
    "^@molam/ops-sdk$": `${clients}/sdk/src/index.ts`,
    "^@molam/ops-widgets-react/(tokens|hooks|format|model)$": `${clients}/widgets-react/src/$1`,
    // their ESM sources import "./x.js" for "./x.ts"
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  // one live service for every file: files run one after another, so that
  // one file's freeze or signature cannot race another's assertions
  maxWorkers: 1,
  testTimeout: 60000,
};
