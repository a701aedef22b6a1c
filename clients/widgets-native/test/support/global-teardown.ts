// Stops the service global-setup.ts started.
export default async function globalTeardown(): Promise<void> {
  await globalThis.__MOLAM_OPS_SERVICE__?.stop();
}
