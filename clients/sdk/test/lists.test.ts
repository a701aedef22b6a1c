import { describe, expect, it } from "vitest";
import { clientAs, collect } from "./helpers.js";

describe("lists", () => {
  it("follow `next` page after page (limit=2) to every bank, on the configured base URL", async () => {
    const pages: string[] = [];
    const counting: typeof fetch = (input, init) => {
      const request = new Request(input, init);
      pages.push(request.url);
      return fetch(request);
    };
    const chloe = clientAs("chloe", { fetch: counting });
    const { data } = await chloe.api.GET("/api/ops/banks", { params: { query: { limit: 1 } } });
    const count = data!.count;
    expect(count).toBeGreaterThan(2);
    pages.length = 0;

    const banks = await collect(chloe.list("/api/ops/banks", { limit: 2 }));

    expect(banks).toHaveLength(count);
    expect(new Set(banks.map((b) => b.id)).size).toBe(count);
    expect(pages).toHaveLength(Math.ceil(count / 2));
    expect(pages.every((url) => url.includes("limit=2"))).toBe(true);
    // every bank, the same as the one-call helper gives
    expect((await chloe.banks()).map((b) => b.id).sort()).toEqual(banks.map((b) => b.id).sort());
  });

  it("stops early when the caller breaks out", async () => {
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests += 1;
      return fetch(new Request(input, init));
    };
    const chloe = clientAs("chloe", { fetch: counting });
    for await (const bank of chloe.list("/api/ops/banks", { limit: 1 })) {
      expect(bank.id).toBeTruthy();
      break;
    }
    expect(requests).toBe(1);
  });
});
