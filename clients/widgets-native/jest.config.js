// Jest on React Native's own preset (its mocks of the native modules, the
// Metro babel transform), against the real service: test/support/global-setup.js
// starts it once for the whole run.
const path = require("path");

const clients = path.resolve(__dirname, "..");

module.exports = {
  preset: "@react-native/jest-preset",
  rootDir: __dirname,
  testMatch: ["<rootDir>/test/**/*.test.tsx"],
  globalSetup: "<rootDir>/test/support/global-setup.js",
  globalTeardown: "<rootDir>/test/support/global-teardown.js",
  setupFilesAfterEnv: ["<rootDir>/test/support/setup.ts"],
  moduleNameMapper: {
    // the workspace's SDK and shared hooks, from source (no build step)
    "^@molam/ops-sdk$": `${clients}/sdk/src/index.ts`,
    "^@molam/ops-widgets-react/(tokens|hooks|format)$": `${clients}/widgets-react/src/$1`,
    // their ESM sources import "./x.js" for "./x.ts"
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  // one live service for every file: files run one after another, so that
  // one file's freeze or signature cannot race another's assertions
  maxWorkers: 1,
  testTimeout: 60000,
};
