import { inject } from "vitest";
import WebSocket from "ws";
import { createOpsClient, type OpsClient, type OpsClientOptions } from "../src/index.js";
import type { LiveServer } from "./global-setup.js";
import { operatorOptions, type Operator } from "./live-service.js";

export type { Operator };

export const server = (): LiveServer => inject("server");

/** A client acting as one of the demo operators against the live service. */
export function clientAs(who: Operator | null, extra: Partial<OpsClientOptions> = {}): OpsClient {
  return createOpsClient({
    ...operatorOptions(server(), who),
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
