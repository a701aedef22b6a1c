import { describe, expect, it } from "vitest";
import { OpsError } from "../src/index.js";
import { clientAs } from "./helpers.js";

describe("ops actions against the live service", () => {
  it("pauses and resumes a bank; pausing it twice is a typed 409", async () => {
    const alice = clientAs("alice");
    const bank = (await alice.banks()).find((b) => !b.paused);
    expect(bank, "the demo data has an unpaused bank").toBeDefined();
    const id = bank!.id;

    const paused = await alice.pauseBank({ bank_profile_id: id, reason: "SDK test: pause" });
    expect(paused.status).toBe(200);
    expect(paused.replayed).toBe(false);
    expect(paused.body.ok).toBe(true);
    expect(paused.body.log.action_type).toBe("pause_bank");
    expect((await alice.banks()).find((b) => b.id === id)?.paused).toBe(true);

    const again = await alice
      .pauseBank({ bank_profile_id: id, reason: "SDK test: pause again" })
      .catch((err: unknown) => err);
    expect(again).toBeInstanceOf(OpsError);
    expect(again).toMatchObject({ status: 409, code: "bank_already_paused" });

    const resumed = await alice.resumeBank({ bank_profile_id: id, reason: "SDK test: resume" });
    expect(resumed.status).toBe(200);
    expect((await alice.banks()).find((b) => b.id === id)?.paused).toBe(false);
  });

  it("runs a global freeze on two signatures, then unfreezes", async () => {
    const alice = clientAs("alice");
    const bruno = clientAs("bruno");
    const fatou = clientAs("fatou");
    expect((await alice.banks()).some((b) => b.frozen)).toBe(false);

    const asked = await alice.freezePayouts({ scope: "global", reason: "SDK test: incident" });
    expect(asked.status).toBe(202);
    const approval = asked.body.approval as { id: string; status: string };
    expect(approval.status).toBe("pending");
    expect((await bruno.pendingApprovals()).map((a) => a.id)).toContain(approval.id);

    const first = await bruno.approve(approval.id, { decision: "approve" });
    expect(first.body.approval).toMatchObject({ id: approval.id, status: "pending" });
    expect((await alice.banks()).some((b) => b.frozen)).toBe(false);

    const second = await fatou.approve(approval.id, { decision: "approve", comment: "confirmed" });
    expect(second.status).toBe(200);
    expect(second.body.approval).toMatchObject({ id: approval.id, status: "executed" });
    const banks = await alice.banks();
    expect(banks.length).toBeGreaterThan(0);
    expect(banks.every((b) => b.frozen)).toBe(true);

    const lifted = await alice.unfreezePayouts({ scope: "global", reason: "SDK test: resolved" });
    expect(lifted.status).toBe(200);
    expect((await alice.banks()).some((b) => b.frozen)).toBe(false);
  });

  it("runs an action by its registry name, path parameters taken from the body", async () => {
    const alice = clientAs("alice");
    const bank = (await alice.banks()).find((b) => !b.paused)!;
    const paused = await alice.action("pause_bank", {
      bank_profile_id: bank.id,
      reason: "SDK test: by name",
    });
    expect(paused.status).toBe(200);
    const resumed = await alice.action("resume_bank", { bank_profile_id: bank.id, reason: "back" });
    expect(resumed.status).toBe(200);
    expect((await alice.banks()).find((b) => b.id === bank.id)?.paused).toBe(false);
  });
});
