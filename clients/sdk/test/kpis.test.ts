import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { KpiState } from "../src/index.js";
import { clientAs } from "./helpers.js";
import { closedPort } from "./live-service.js";

/** Resolves with the first state `accept` takes; rejects after `ms`. */
function stateWhere(
  subscribe: (listener: (s: KpiState) => void) => () => void,
  accept: (s: KpiState) => boolean,
  ms = 20_000,
): Promise<{ state: KpiState; unsubscribe: () => void }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => reject(new Error(`no such KPI state in ${ms} ms`)), ms);
    const unsubscribe = subscribe((state) => {
      if (done || !accept(state)) return;
      done = true;
      clearTimeout(timer);
      queueMicrotask(() => resolve({ state, unsubscribe }));
    });
  });
}

/** A port nothing listens on (taken, then given back). */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function countingFetch() {
  const reads: number[] = [];
  const fetcher: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    if (request.url.endsWith("/api/metrics/summary")) reads.push(Date.now());
    return fetch(request);
  };
  return { reads, fetcher };
}

describe("subscribeKpis", () => {
  it("receives the summary pushed over the real socket (token as subprotocol)", async () => {
    const sockets: string[][] = [];
    class Recording extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push([url, ...[protocols ?? []].flat()]);
      }
    }
    const chloe = clientAs("chloe", { WebSocket: Recording });
    const { state, unsubscribe } = await stateWhere(
      (l) => chloe.subscribeKpis(l),
      (s) => s.live,
    );
    unsubscribe();
    expect(state.error).toBeNull();
    expect(state.summary).toHaveProperty("computed_at");
    expect(sockets).toHaveLength(1);
    expect(sockets[0]![0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/kpis\/$/);
    expect(sockets[0]!.slice(1)).toEqual(["molam.jwt", expect.stringMatching(/^ey/)]);
  });

  it("calls the listener at once, then with the first summary", async () => {
    const states: KpiState[] = [];
    const chloe = clientAs("chloe");
    const { unsubscribe } = await stateWhere(
      (l) =>
        chloe.subscribeKpis((s) => {
          states.push(s);
          l(s);
        }),
      (s) => s.summary !== null,
    );
    unsubscribe();
    expect(states[0]).toEqual({ summary: null, error: null, live: false });
  });

  it("polls while the socket refuses: live stays false and summaries keep coming", async () => {
    const port = await closedPort();
    let attempts = 0;
    class Refused extends WebSocket {
      constructor(_url: string, protocols?: string | string[]) {
        super(`ws://127.0.0.1:${port}/ws/kpis/`, protocols);
        attempts += 1;
      }
    }
    const { reads, fetcher } = countingFetch();
    const chloe = clientAs("chloe", { WebSocket: Refused, fetch: fetcher });
    const states: KpiState[] = [];
    let polled = 0;
    const { unsubscribe } = await stateWhere(
      (l) =>
        chloe.subscribeKpis(
          (s) => {
            states.push(s);
            if (s.summary !== null) polled += 1;
            l(s);
          },
          { refreshInterval: 1000 },
        ),
      // the first read at once, then one each refreshInterval
      () => polled >= 3,
    );
    unsubscribe();

    expect(states.every((s) => !s.live)).toBe(true);
    expect(states.at(-1)!.summary).toHaveProperty("computed_at");
    expect(reads.length).toBe(3);
    // polled every refreshInterval, not faster
    expect(reads[2]! - reads[1]!).toBeGreaterThanOrEqual(990);
    expect(attempts).toBeGreaterThanOrEqual(2); // reconnects meanwhile

    const after = reads.length;
    await sleep(1500);
    expect(reads.length).toBe(after); // unsubscribed: no more polling
  });

  it("stops polling once the socket is back", async () => {
    let attempts = 0;
    const port = await closedPort();
    class RefusedOnce extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        attempts += 1;
        super(attempts === 1 ? `ws://127.0.0.1:${port}/ws/kpis/` : url, protocols);
      }
    }
    const { reads, fetcher } = countingFetch();
    const chloe = clientAs("chloe", { WebSocket: RefusedOnce, fetch: fetcher });
    const { unsubscribe } = await stateWhere(
      (l) => chloe.subscribeKpis(l, { refreshInterval: 1000 }),
      (s) => s.live,
    );
    const readsWhenLive = reads.length;
    expect(readsWhenLive).toBeGreaterThanOrEqual(1);
    await sleep(2500);
    unsubscribe();
    expect(attempts).toBe(2);
    expect(reads.length).toBe(readsWhenLive);
  });

  it("without credentials the socket is refused and polling reports the 401", async () => {
    const anonymous = clientAs(null);
    const { state, unsubscribe } = await stateWhere(
      (l) => anonymous.subscribeKpis(l, { refreshInterval: 1000 }),
      (s) => s.error !== null,
    );
    unsubscribe();
    expect(state.live).toBe(false);
    expect(state.error).toMatchObject({ status: 401, code: "not_authenticated" });
  });
});
