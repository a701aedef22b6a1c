import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpsError } from "../src/index.js";
import { startFaultProxy, type FaultProxy } from "./fault-proxy.js";
import { clientAs, collect, server } from "./helpers.js";

const error = (code: string, message = code) => ({ ok: false, error: { code, message, fields: {} } });

async function unpausedBank(): Promise<string> {
  const bank = (await clientAs("alice").banks()).find((b) => !b.paused);
  expect(bank, "an unpaused bank to work on").toBeDefined();
  return bank!.id;
}

async function resume(id: string): Promise<void> {
  await clientAs("alice").resumeBank({ bank_profile_id: id, reason: "SDK test: clean up" });
}

describe("a dropped connection after the POST reached the service", () => {
  it("is retried with the same key, answered as a replay, and acts once", async () => {
    const id = await unpausedBank();
    const keys: string[] = [];
    let dropped = false;
    const dropping: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.method === "POST") keys.push(request.headers.get("Idempotency-Key") ?? "");
      const response = await fetch(request);
      if (request.method === "POST" && !dropped) {
        dropped = true;
        await response.arrayBuffer(); // the service has answered; we never see it
        throw new TypeError("fetch failed: connection reset");
      }
      return response;
    };
    const alice = clientAs("alice", { fetch: dropping });

    const result = await alice.pauseBank({ bank_profile_id: id, reason: "SDK test: dropped" });

    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(result.status).toBe(200);
    expect(result.replayed).toBe(true);
    const rows = (
      await collect(alice.list("/api/ops/actions", { action_type: "pause_bank", actor_id: "alice" }))
    ).filter((row) => row.idempotency_key === keys[0]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "executed", target: { bank_profile_id: id } });
    await resume(id);
  });
});

describe("answers that say 'again later', through a proxy of our own", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(server().url);
  });
  afterAll(() => proxy.close());

  const viaProxy = () => clientAs("alice", { baseUrl: proxy.url });
  const posts = () => proxy.seen.filter((s) => s.method === "POST");

  it("waits out a 503's Retry-After and sends the same key again", async () => {
    const id = await unpausedBank();
    proxy.seen.length = 0;
    proxy.failNextPosts({
      status: 503,
      headers: { "Retry-After": "1" },
      body: error("service_unavailable"),
    });

    const result = await viaProxy().pauseBank({ bank_profile_id: id, reason: "SDK test: 503" });

    expect(result.status).toBe(200);
    expect(result.replayed).toBe(false); // the first attempt never reached the service
    const [first, second] = posts();
    expect(posts()).toHaveLength(2);
    expect(second!.key).toBe(first!.key);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    await resume(id);
  });

  it("asks again, after a backoff, while the key's first request is in flight (409)", async () => {
    const id = await unpausedBank();
    proxy.seen.length = 0;
    proxy.failNextPosts(
      { status: 409, body: error("idempotency_key_in_use") },
      { status: 409, body: error("idempotency_key_in_use") },
    );

    const result = await viaProxy().pauseBank({ bank_profile_id: id, reason: "SDK test: 409" });

    expect(result.status).toBe(200);
    const seen = posts();
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    // baseDelayMs 50: at least half of 50, then of 100 (the jitter's floor)
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(25);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(50);
    await resume(id);
  });

  it("does not retry a 409 that is a refusal, nor a 400", async () => {
    proxy.seen.length = 0;
    proxy.failNextPosts({ status: 409, body: error("bank_already_paused") });
    const conflict = await viaProxy()
      .pauseBank({ bank_profile_id: "7d1c6f0e-0000-4000-8000-000000000000", reason: "x" })
      .catch((err: unknown) => err);
    expect(conflict).toMatchObject({ status: 409, code: "bank_already_paused" });

    const invalid = await viaProxy()
      .pauseBank({ bank_profile_id: "not-a-uuid", reason: "" })
      .catch((err: unknown) => err);
    expect(invalid).toMatchObject({ status: 400 });
    expect(posts()).toHaveLength(2);
  });

  it("names an answer that is not the service's envelope by its status", async () => {
    proxy.seen.length = 0;
    proxy.failNextPosts({ status: 502, body: "<html><body>Bad Gateway</body></html>" });
    const err = await viaProxy()
      .pauseBank({ bank_profile_id: "7d1c6f0e-0000-4000-8000-000000000000", reason: "x" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect(err).toMatchObject({ status: 502, code: "http_502", fields: {} });
    expect(posts()).toHaveLength(1);
  });

  it("gives up at once on a Retry-After longer than maxDelayMs, saying how long", async () => {
    proxy.seen.length = 0;
    proxy.failNextPosts({ status: 429, headers: { "Retry-After": "120" }, body: error("throttled") });
    const err = await viaProxy()
      .pauseBank({ bank_profile_id: "7d1c6f0e-0000-4000-8000-000000000000", reason: "x" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect(err).toMatchObject({ status: 429, code: "throttled", retryAfter: 120 });
    expect(posts()).toHaveLength(1);
  });
});

describe("no answer at all", () => {
  it("retries, then fails as a network_error with status 0", async () => {
    let calls = 0;
    const refusing: typeof fetch = async () => {
      calls += 1;
      throw new TypeError("fetch failed: ECONNREFUSED");
    };
    const alice = clientAs("alice", { fetch: refusing, retry: { retries: 2, baseDelayMs: 10 } });
    const err = await alice.summary().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect(err).toMatchObject({ status: 0, code: "network_error" });
    expect(calls).toBe(3);
  });
});
