// Checked by the compiler (npm run typecheck): the public types follow the
// generated schema, so the widgets get the service's shapes, not guesses.
import { describe, expectTypeOf, it } from "vitest";
import type {
  ActionName,
  ActionResponse,
  ListItem,
  ListPath,
  OpsClient,
  OpsError,
  Schemas,
} from "../src/index.js";

describe("types derived from the schema", () => {
  it("lists: paths, items and queries", () => {
    expectTypeOf<"/api/ops/banks">().toExtend<ListPath>();
    expectTypeOf<"/api/ops/actions">().toExtend<ListPath>();
    expectTypeOf<"/api/ops/me">().not.toExtend<ListPath>();
    expectTypeOf<"/api/ops/freeze-payouts">().not.toExtend<ListPath>();
    expectTypeOf<"/api/ops/plans/{plan_id}/payouts">().not.toExtend<ListPath>();
    expectTypeOf<ListItem<"/api/ops/banks">>().toEqualTypeOf<Schemas["Bank"]>();
    expectTypeOf<Parameters<OpsClient["list"]>>().toExtend<[ListPath, unknown?]>();
  });

  it("actions: bodies, answers, names and error codes", () => {
    expectTypeOf<Parameters<OpsClient["pauseBank"]>[0]>().toEqualTypeOf<
      Schemas["PauseBankInputRequest"]
    >();
    expectTypeOf<ActionResponse<"/api/ops/freeze-payouts">>().toEqualTypeOf<
      Schemas["FreezeResponse"] | Schemas["FreezeAcceptedResponse"]
    >();
    expectTypeOf<"set_flag">().toExtend<ActionName>();
    expectTypeOf<OpsError["code"]>().toEqualTypeOf<
      Schemas["ErrorDetail"]["code"] | "network_error" | `http_${number}`
    >();
  });
});
