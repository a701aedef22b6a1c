// Idempotency keys (the service takes ≤ 255 chars, unique per logical attempt): a v4
// UUID from crypto.randomUUID, or from getRandomValues where only that
// exists (React Native with a polyfill), or Math.random as a last resort —
// a key only has to be unique, not secret.

export function newIdempotencyKey(): string {
  const c = (globalThis as { crypto?: Partial<Crypto> }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
