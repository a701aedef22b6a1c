import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpsError } from "../src/index.js";
import { startFaultProxy, type FaultProxy } from "./fault-proxy.js";
import { clientAs, server, type Operator } from "./helpers.js";

describe("the client's credentials and cancellation", () => {
  it("asks the token provider before every request, so a new token is used at once", async () => {
    let who: Operator = "chloe";
    let calls = 0;
    const ops = clientAs(null, {
      token: async () => {
        calls += 1;
        return server().tokens[who];
      },
    });
    expect((await ops.me()).id).toBe("chloe");
    who = "alice";
    expect((await ops.me()).id).toBe("alice");
    expect(calls).toBe(2);
  });

  describe("through a proxy answering 503 Retry-After: 1", () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(server().url);
    });
    afterAll(() => proxy.close());

    it("an abort during the wait rejects at once with the signal's reason, sending nothing more", async () => {
      proxy.failNextPosts({
        status: 503,
        headers: { "Retry-After": "1" },
        body: { ok: false, error: { code: "service_unavailable", message: "down", fields: {} } },
      });
      const controller = new AbortController();
      const started = Date.now();
      const call = clientAs("alice", { baseUrl: proxy.url }).pauseBank(
        { bank_profile_id: "7d1c6f0e-0000-4000-8000-000000000000", reason: "SDK test: abort" },
        { signal: controller.signal },
      );
      setTimeout(() => controller.abort(), 100);
      const err = await call.catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(OpsError);
      expect(err).toMatchObject({ name: "AbortError" });
      expect(Date.now() - started).toBeLessThan(900);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(proxy.seen.filter((s) => s.method === "POST")).toHaveLength(1);
    });
  });
});
