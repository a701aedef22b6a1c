import { inject } from "vitest";
import WebSocket from "ws";
import { createOpsClient, type OpsClient, type OpsClientOptions } from "../src/index.js";
import type { LiveServer } from "./global-setup.js";

export type Operator = keyof LiveServer["tokens"];

export const server = (): LiveServer => inject("server");

/** A client acting as one of the demo operators against the live service. */
export function clientAs(who: Operator | null, extra: Partial<OpsClientOptions> = {}): OpsClient {
  const { url, tokens } = server();
  return createOpsClient({
    baseUrl: url,
    token: () => (who ? tokens[who] : null),
    WebSocket,
    retry: { baseDelayMs: 50, maxDelayMs: 2000 },
    ...extra,
  });
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
