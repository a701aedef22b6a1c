// The real service the global set-up started, clients for its demo
// operators, and a refused port for the error states.

import { createServer, request as httpRequest, type Server } from "node:http";
import type { ReactElement } from "react";
import { fireEvent, render, screen } from "@testing-library/react-native";
import WebSocket from "ws";
import { createOpsClient, type OpsClient, type WebSocketConstructor } from "@molam/ops-sdk";
import { OpsProvider } from "@molam/ops-widgets-react/hooks";
import { closedPort, operatorOptions, type LiveServer, type Operator } from "../../../sdk/test/live-service";

export { closedPort, type Operator };

export const serviceUrl = (): string => {
  const url = process.env.MOLAM_OPS_URL;
  if (!url) throw new Error("MOLAM_OPS_URL is not set: run the tests with `npm test` (global-setup starts the service)");
  return url;
};

const liveServer = (): LiveServer => ({
  url: serviceUrl(),
  tokens: JSON.parse(process.env.MOLAM_OPS_TOKENS ?? "{}") as LiveServer["tokens"],
});

// Node's own fetch (undici) and the `ws` socket: the React Native preset
// leaves fetch alone (its InitializeCore, which would install RN's
// XMLHttpRequest-based fetch, is mocked), and Node 20 has no WebSocket. Both
// are passed explicitly so every request below is a real HTTP call.
const nodeFetch: typeof fetch = globalThis.fetch;

/** A client of the live service as `who`; `live: false` leaves out the KPI
 *  socket (Node 20 has none of its own), so the summary is only polled. */
export function clientFor(who: Operator, baseUrl: string = serviceUrl(), options: { live?: boolean } = {}): OpsClient {
  return createOpsClient({
    ...operatorOptions(liveServer(), who),
    baseUrl,
    fetch: nodeFetch,
    ...(options.live === false ? {} : { WebSocket: WebSocket as unknown as WebSocketConstructor }),
    retry: { retries: 0 },
  });
}

export function renderWith(client: OpsClient, ui: ReactElement) {
  return render(<OpsProvider client={client}>{ui}</OpsProvider>);
}

/** Start serving on `port` by forwarding every request to the live service
 *  (the server "comes back" where the widget failed to reach it). */
export async function forwardTo(port: number): Promise<Server> {
  const target = new URL(serviceUrl());
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

export async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** `ui` rendered as `who` on a port that refuses connections, once its
 *  alert shows; retryOnceUp() then serves the live service on that port,
 *  presses Retry and runs `check` (the widget loaded) before stopping it. */
export async function renderRefused(who: Operator, ui: ReactElement) {
  const port = await closedPort();
  renderWith(clientFor(who, `http://127.0.0.1:${port}`), ui);
  const alert = await screen.findByRole("alert");
  return {
    alert,
    async retryOnceUp(check: () => Promise<void>): Promise<void> {
      const server = await forwardTo(port);
      try {
        fireEvent.press(screen.getByRole("button", { name: "Retry" }));
        await check();
      } finally {
        await stop(server);
      }
    },
  };
}
