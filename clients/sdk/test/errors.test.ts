import { describe, expect, it } from "vitest";
import { OpsError } from "../src/index.js";
import { clientAs } from "./helpers.js";

const refusal = (promise: Promise<unknown>): Promise<OpsError> =>
  promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(OpsError);
      return err as OpsError;
    },
  );

describe("refusals come back as typed OpsErrors", () => {
  it("403: an ops operator may not freeze payouts", async () => {
    const body = { scope: "global" as const, reason: "SDK test: not mine to do" };
    const err = await refusal(clientAs("chloe").freezePayouts(body));
    expect(err).toMatchObject({ status: 403, code: "forbidden", retryAfter: null });
    expect(err.message).not.toBe("");
  });

  it("400: a bad body names its fields", async () => {
    const err = await refusal(
      clientAs("alice").pauseBank({ bank_profile_id: "not-a-uuid", reason: "" }),
    );
    expect(err).toMatchObject({ status: 400, code: "validation_error" });
    expect(Object.keys(err.fields).sort()).toEqual(["bank_profile_id", "reason"]);
  });

  it("401: no token, explained in the language asked for", async () => {
    // (a token's own `lang` claim would win over Accept-Language)
    const en = await refusal(clientAs(null, { lang: "en" }).banks());
    const fr = await refusal(clientAs(null, { lang: "fr" }).banks());
    expect(en).toMatchObject({ status: 401, code: "not_authenticated" });
    expect(fr).toMatchObject({ status: 401, code: "not_authenticated" });
    expect(fr.message).not.toBe(en.message);
  });

  it("404: an approval that does not exist", async () => {
    const err = await refusal(
      clientAs("bruno").approve("00000000-0000-4000-8000-000000000000", { decision: "approve" }),
    );
    expect(err).toMatchObject({ status: 404 });
    expect(err.code).not.toBe("");
  });

  it("the raw typed client carries the credentials and language too", async () => {
    const { data, response } = await clientAs("chloe").api.GET("/api/ops/banks", {
      params: { query: { limit: 1 } },
    });
    expect(response.status).toBe(200);
    expect(data?.results).toHaveLength(1);
    const me = await clientAs("chloe").me();
    expect(me.roles).toEqual(["ops"]);
    expect(Object.keys(me.actions)).not.toContain("freeze_payouts");
    expect(me.available_actions).toContain("freeze_payouts");
  });
});
