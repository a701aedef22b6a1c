import { act, render, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";
import type { CallOptions, OpsClient } from "@molam/ops-sdk";
import { BalanceWidget, FreezeButton, OpsProvider, PayoutSummary, useAction, useMe } from "../src/index.js";
import { clientAs, downThenUp, server } from "./helpers.js";

const wrapper = (client: OpsClient) =>
  function Wrapper({ children }: { children: ReactNode }) {
    return <OpsProvider client={client}>{children}</OpsProvider>;
  };

describe("useMe", () => {
  it("reads /api/ops/me once per provider, however many widgets ask, and can() follows the roles", async () => {
    let reads = 0;
    const client = clientAs("chloe", {
      fetch: (input, init) => {
        if (new Request(input).url.endsWith("/api/ops/me")) reads += 1;
        return fetch(input, init);
      },
    });
    render(
      <OpsProvider client={client}>
        <FreezeButton />
        <FreezeButton scope="global" />
        <BalanceWidget />
        <PayoutSummary />
      </OpsProvider>,
    );
    const { result } = renderHook(() => useMe(), { wrapper: wrapper(client) });
    await waitFor(() => expect(result.current.status).toBe("ready"));
    expect(result.current.can("generate_plan")).toBe(true);
    expect(result.current.can("freeze_payouts")).toBe(false);
    expect(result.current.available("freeze_payouts")).toBe(true);
    // the render above (one provider) and this hook (another): two reads
    await waitFor(() => expect(reads).toBe(2));
  });
});

describe("useAction", () => {
  it("resends a failed submission with the same Idempotency-Key, and a new submission with a new one", async () => {
    const flaky = await downThenUp("alice");
    const keys: string[] = [];
    const bank = ((await clientAs("alice").summary()) as { banks: { id: string; paused: boolean }[] }).banks.find(
      (b) => !b.paused,
    )!;
    try {
      const { result } = renderHook(
        () =>
          useAction((body: { bank_profile_id: string; reason: string }, o: CallOptions) => {
            keys.push(o.idempotencyKey!);
            return flaky.client.pauseBank(body, o);
          }),
        { wrapper: wrapper(flaky.client) },
      );
      const body = { bank_profile_id: bank.id, reason: "useAction test" };
      await act(async () => {
        expect(await result.current.run(body)).toBeNull();
      });
      expect(result.current.error).toMatchObject({ status: 0, code: "network_error" });
      await flaky.open();
      let first: Awaited<ReturnType<typeof result.current.run>> = null;
      await act(async () => {
        first = await result.current.run(body);
      });
      expect(first).toMatchObject({ status: 200, replayed: false });
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      // after a success the same body is a new submission: a new key, and
      // the service, seeing a new intent, refuses to pause a paused bank
      await act(async () => {
        expect(await result.current.run(body)).toBeNull();
      });
      expect(keys[2]).not.toBe(keys[0]);
      expect(result.current.error).toMatchObject({ status: 409 });
    } finally {
      await clientAs("alice").resumeBank({ bank_profile_id: bank.id, reason: "useAction test done" });
      await flaky.close();
    }
    expect(server().url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
