// The widgets against the live service: a client per demo operator, a
// client whose server refuses connections, and axe on what is rendered.

import { connect, createServer, type Server, type Socket } from "node:net";
import { render, type RenderResult } from "@testing-library/react";
import axe from "axe-core";
import type { ReactNode } from "react";
import { inject } from "vitest";
import WebSocket from "ws";
import { createOpsClient, type OpsClient, type OpsClientOptions, type WebSocketConstructor } from "@molam/ops-sdk";
import type { LiveServer } from "../../sdk/test/global-setup.js";
import { closedPort, operatorOptions, type Operator } from "../../sdk/test/live-service.js";
import { OpsProvider } from "../src/index.js";

export { closedPort, type Operator };

export const server = (): LiveServer => inject("server");

export function clientAs(who: Operator | null, extra: Partial<OpsClientOptions> = {}): OpsClient {
  return createOpsClient({
    ...operatorOptions(server(), who),
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    retry: { retries: 1, baseDelayMs: 50, maxDelayMs: 500 },
    ...extra,
  });
}

/** A client whose every connection is refused (a real ECONNREFUSED). */
export async function unreachableClient(who: Operator = "alice"): Promise<OpsClient> {
  return clientAs(who, { baseUrl: `http://127.0.0.1:${await closedPort()}`, retry: { retries: 0 } });
}

/** A port that refuses connections until open() puts a TCP relay to the
 *  live service on it: the widget fails for real, then its retry succeeds. */
export async function downThenUp(who: Operator = "alice") {
  const port = await closedPort();
  const target = new URL(server().url);
  const sockets = new Set<Socket>();
  let relay: Server | null = null;
  return {
    client: clientAs(who, { baseUrl: `http://127.0.0.1:${port}`, retry: { retries: 0 } }),
    async open() {
      relay = createServer((incoming) => {
        const outgoing = connect(Number(target.port), target.hostname);
        for (const s of [incoming, outgoing]) {
          sockets.add(s);
          s.on("error", () => s.destroy());
          s.on("close", () => sockets.delete(s));
        }
        incoming.pipe(outgoing).pipe(incoming);
      });
      await new Promise<void>((resolve) => relay!.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (relay) await new Promise<void>((resolve) => relay!.close(() => resolve()));
    },
  };
}

export function renderWith(client: OpsClient, ui: ReactNode): RenderResult {
  return render(<OpsProvider client={client}>{ui}</OpsProvider>);
}

/** axe-core's violations in `root` (colour contrast aside: jsdom has no layout). */
export async function violations(root: Element): Promise<string[]> {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false } } });
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(" | ")})`);
}

/** Close every pending freeze request (fatou declines it: one decline
 *  rejects), so that no test file depends on another's leftovers. */
export async function declinePendingFreezes(): Promise<void> {
  const fatou = clientAs("fatou");
  for await (const a of fatou.list("/api/ops/pending-approvals", { action_type: "freeze_payouts" })) {
    await fatou.approve(a.id, { decision: "decline", comment: "test clean-up" });
  }
}
