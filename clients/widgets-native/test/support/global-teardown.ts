// Closing its stdin stops the service; SIGTERM if it lingers.
export default async function globalTeardown(): Promise<void> {
  const child = globalThis.__MOLAM_OPS_SERVER__;
  if (!child || child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGTERM"), 10000);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}
