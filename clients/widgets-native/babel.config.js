// Metro's own transform for the sources and tests (TypeScript, JSX, Flow in
// react-native's files), so Jest runs what an app's bundler would build.
module.exports = {
  presets: ["module:@react-native/babel-preset"],
};
