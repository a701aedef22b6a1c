import createClient, { type Client } from "openapi-fetch";
import { errorFromResponse, OpsError } from "./errors.js";
import { createKpiHub } from "./kpis.js";
import { retryPolicy } from "./retry.js";
import type { paths } from "./schema.js";
import { createTransport } from "./transport.js";
import type {
  ActionBody,
  ActionName,
  ActionResponse,
  ActionResult,
  CallOptions,
  KpiState,
  KpiSummary,
  ListItem,
  ListPath,
  ListQuery,
  OpsClientOptions,
  Schemas,
} from "./types.js";
import { uuid4 } from "./uuid.js";

type FreezePath = "/api/ops/freeze-payouts";

export interface OpsClient {
  /** The typed raw client (openapi-fetch), credentials, language and retries installed. */
  readonly api: Client<paths>;
  me(): Promise<Schemas["Me"]>;
  summary(): Promise<KpiSummary>;
  /** Every bank, page after page. */
  banks(): Promise<Schemas["Bank"][]>;
  pendingApprovals(): Promise<Schemas["Approval"][]>;
  suggestions(): Promise<Schemas["Suggestion"][]>;
  /** Any list endpoint, every item, following `next` page after page. */
  list<P extends ListPath>(path: P, query?: ListQuery<P>): AsyncIterable<ListItem<P>>;

  freezePayouts(
    body: ActionBody<FreezePath>,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<FreezePath>>>;
  unfreezePayouts(
    body: ActionBody<"/api/ops/unfreeze-payouts">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/unfreeze-payouts">>>;
  pauseBank(
    body: ActionBody<"/api/ops/pause-bank">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/pause-bank">>>;
  resumeBank(
    body: ActionBody<"/api/ops/resume-bank">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/resume-bank">>>;
  generatePlan(
    body: ActionBody<"/api/ops/generate-plan">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/generate-plan">>>;
  executePlan(
    body: ActionBody<"/api/ops/execute-plan">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/execute-plan">>>;
  /** Sign ("approve") or decline an approval request. */
  approve(
    approvalId: string,
    body: Omit<ActionBody<"/api/ops/approve/{approval_id}">, "approval_id">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/approve/{approval_id}">>>;
  acceptSuggestion(
    id: string,
    body?: Omit<ActionBody<"/api/ops/suggestions/{suggestion_id}/accept">, "suggestion_id">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/suggestions/{suggestion_id}/accept">>>;
  declineSuggestion(
    id: string,
    body: Omit<ActionBody<"/api/ops/suggestions/{suggestion_id}/decline">, "suggestion_id">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/suggestions/{suggestion_id}/decline">>>;
  retryFailedPayouts(
    body: ActionBody<"/api/ops/retry-failed-payouts">,
    o?: CallOptions,
  ): Promise<ActionResult<ActionResponse<"/api/ops/retry-failed-payouts">>>;
  /** Any ops action by its registry name (e.g. "set_flag"), for what has no method. */
  action(name: ActionName, body: unknown, o?: CallOptions): Promise<ActionResult<unknown>>;

  /** Live KPIs: pushed by the /ws/kpis/ socket; while it is down, polled every
   *  refreshInterval ms (default 30000, min 1000) and the socket reconnected
   *  with backoff. Calls the listener at once with what it has. Returns unsubscribe. */
  subscribeKpis(
    listener: (state: KpiState) => void,
    options?: { refreshInterval?: number },
  ): () => void;
}

// openapi-fetch's per-path overloads, seen from code that is generic over paths
type LooseCall = (
  path: string,
  init: Record<string, unknown>,
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

export function createOpsClient(options: OpsClientOptions): OpsClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const send = createTransport({
    fetch: options.fetch,
    token: options.token,
    lang: options.lang,
    policy: retryPolicy(options.retry),
  });
  const api = createClient<paths>({ baseUrl, fetch: send });
  const newKey = options.idempotencyKey ?? uuid4;

  async function call(
    method: "GET" | "POST",
    path: string,
    init: Record<string, unknown>,
  ): Promise<{ data: unknown; response: Response }> {
    const fn = (method === "GET" ? api.GET : api.POST) as unknown as LooseCall;
    const { data, error, response } = await fn(path, init);
    if (!response.ok) throw errorFromResponse(response, error);
    return { data, response };
  }

  async function get<T>(path: string, query?: object, pathParams?: object): Promise<T> {
    const { data } = await call("GET", path, { params: { query, path: pathParams } });
    return data as T;
  }

  async function post<T>(
    path: string,
    body: unknown,
    o: CallOptions | undefined,
    pathParams?: Record<string, string>,
  ): Promise<ActionResult<T>> {
    // one key per logical call: the transport's retries resend this same request
    const key = o?.idempotencyKey ?? newKey();
    const { data, response } = await call("POST", path, {
      params: { header: { "Idempotency-Key": key }, path: pathParams },
      body,
      signal: o?.signal,
    });
    return {
      status: response.status === 202 ? 202 : 200,
      replayed: response.headers.get("Idempotent-Replayed") === "true",
      body: data as T,
    };
  }

  async function* pages(path: string, query?: object): AsyncGenerator<unknown> {
    let q: object | undefined = query;
    for (;;) {
      const page = await get<{ results: unknown[]; next?: string | null }>(path, q);
      yield* page.results;
      if (!page.next || page.results.length === 0) return;
      q = queryOf(page.next, baseUrl);
    }
  }

  async function all<T>(path: ListPath): Promise<T[]> {
    const items: T[] = [];
    for await (const item of pages(path)) items.push(item as T);
    return items;
  }

  let meCache: Promise<Schemas["Me"]> | null = null;
  // the caller's action URLs, read once; a failed read is asked again next time
  function actionUrls(): Promise<Record<string, string>> {
    meCache ??= get<Schemas["Me"]>("/api/ops/me");
    meCache.catch(() => {
      meCache = null;
    });
    return meCache.then((me) => me.actions);
  }

  const summary = async (): Promise<KpiSummary> =>
    (await get<Schemas["MetricsSummary"]>("/api/metrics/summary")).summary;
  const kpiHub = createKpiHub({
    baseUrl,
    token: options.token,
    WebSocket: options.WebSocket,
    summary,
  });

  return {
    api,
    me: () => get("/api/ops/me"),
    summary,
    banks: () => all("/api/ops/banks"),
    pendingApprovals: () => all("/api/ops/pending-approvals"),
    suggestions: () => all("/api/ops/suggestions"),
    list: <P extends ListPath>(path: P, query?: ListQuery<P>) =>
      pages(path, query) as AsyncIterable<ListItem<P>>,

    freezePayouts: (body, o) => post("/api/ops/freeze-payouts", body, o),
    unfreezePayouts: (body, o) => post("/api/ops/unfreeze-payouts", body, o),
    pauseBank: (body, o) => post("/api/ops/pause-bank", body, o),
    resumeBank: (body, o) => post("/api/ops/resume-bank", body, o),
    generatePlan: (body, o) => post("/api/ops/generate-plan", body, o),
    executePlan: (body, o) => post("/api/ops/execute-plan", body, o),
    retryFailedPayouts: (body, o) => post("/api/ops/retry-failed-payouts", body, o),
    approve: (approvalId, body, o) =>
      post("/api/ops/approve/{approval_id}", { ...body, approval_id: approvalId }, o, {
        approval_id: approvalId,
      }),
    acceptSuggestion: (id, body, o) =>
      post(
        "/api/ops/suggestions/{suggestion_id}/accept",
        { ...body, suggestion_id: id },
        o,
        { suggestion_id: id },
      ),
    declineSuggestion: (id, body, o) =>
      post(
        "/api/ops/suggestions/{suggestion_id}/decline",
        { ...body, suggestion_id: id },
        o,
        { suggestion_id: id },
      ),

    async action(name, body, o) {
      const template = (await actionUrls())[name];
      // not among the caller's actions: the service's own answer (403, 404) says why
      const path = template ?? `/api/ops/${name.replace(/_/g, "-")}`;
      const params: Record<string, string> = {};
      for (const [, param] of path.matchAll(/\{(\w+)\}/g)) {
        const value = (body as Record<string, unknown> | null)?.[param as string];
        if (typeof value !== "string" || !value) {
          throw new OpsError({
            status: 400,
            code: "validation_error",
            message: `${name} needs "${param}" in its body`,
            fields: { [param as string]: ["This field is required."] },
          });
        }
        params[param as string] = value;
      }
      return post(path, body, o, params);
    },

    subscribeKpis: (listener, subscribeOptions) => kpiHub.subscribe(listener, subscribeOptions),
  };
}

/** The query of a `next` link. Only its query is taken: the page is asked on the
 *  configured baseUrl, whatever host or path prefix the service saw behind a proxy. */
function queryOf(next: string, baseUrl: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URL(next, baseUrl).searchParams) {
    const prior = query[name];
    if (prior === undefined) query[name] = value;
    else query[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return query;
}
