// The public types: everything here is derived from the generated schema, so
// a change of the service's contract shows up as a type error in its users.
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];

/** The object under "summary" of GET /api/metrics/summary. */
export type KpiSummary = Schemas["MetricsSummary"]["summary"];

/** The error codes the service can answer: the schema's enum. */
export type ErrorCode = Schemas["ErrorDetail"]["code"];

/** Called before every request, so a refreshed token is used at once. */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

/** What the SDK needs of a WebSocket: the browser's, React Native's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number }) => void): void;
  addEventListener(type: "error", listener: (event: unknown) => void): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface RetryOptions {
  /** Attempts after the first (default 3). */
  retries?: number;
  /** First backoff delay in ms, doubled each retry (default 250). */
  baseDelayMs?: number;
  /** Longest wait in ms; a Retry-After longer than this is not waited for (default 5000). */
  maxDelayMs?: number;
}

export interface OpsClientOptions {
  /** "https://ops.example" or "http://127.0.0.1:8084" (a path prefix is kept). */
  baseUrl: string;
  token?: TokenProvider;
  /** Sent as Accept-Language: errors and summaries come localized (en, fr). */
  lang?: string;
  /** Default: globalThis.fetch, looked up at each call. */
  fetch?: typeof fetch;
  /** Default: globalThis.WebSocket (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  retry?: RetryOptions;
  /** Default: crypto.randomUUID when present, else a v4 UUID from getRandomValues. */
  idempotencyKey?: () => string;
}

export interface CallOptions {
  /** The key of this intent; pass the same one to repeat an intent safely. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** An action's answer: 200 executed, 202 waiting for signatures or a worker. */
export interface ActionResult<T> {
  status: 200 | 202;
  /** True when the service answered from its idempotency record (Idempotent-Replayed). */
  replayed: boolean;
  body: T;
}

type JsonOf<R> = R extends { content: { "application/json": infer J } } ? J : never;
type GetOk<P extends keyof paths> = paths[P] extends { get: { responses: { 200: infer R } } }
  ? JsonOf<R>
  : never;

/** GET endpoints that answer a §6 list ({count, next, results}) and need no path parameter. */
export type ListPath = {
  [P in keyof paths]: P extends `${string}{${string}`
    ? never
    : [GetOk<P>] extends [never] // no GET (never would pass any test below)
      ? never
      : GetOk<P> extends { results: unknown[]; next?: unknown }
        ? P
        : never;
}[keyof paths];
export type ListItem<P extends ListPath> = GetOk<P> extends { results: (infer I)[] } ? I : never;
export type ListQuery<P extends ListPath> = paths[P] extends {
  get: { parameters: { query?: infer Q } };
}
  ? NonNullable<Q>
  : never;

/** POST endpoints of ops actions (the ones taking an Idempotency-Key). */
export type ActionPath = {
  [P in keyof paths]: paths[P] extends {
    post: { parameters: { header: { "Idempotency-Key": string } } };
  }
    ? P
    : never;
}[keyof paths];
type PostOp<P extends ActionPath> = paths[P] extends { post: infer O } ? O : never;
export type ActionBody<P extends ActionPath> = PostOp<P> extends {
  requestBody?: { content: { "application/json": infer B } };
}
  ? B
  : never;
export type ActionResponse<P extends ActionPath> = PostOp<P> extends {
  responses: { 200: infer A; 202: infer B };
}
  ? JsonOf<A> | JsonOf<B>
  : never;

type Snake<S extends string> = S extends `${infer A}-${infer B}` ? `${A}_${Snake<B>}` : S;
/** Registry names of the actions at /api/ops/<name> ("set_flag"); any other name is allowed too. */
export type ActionName =
  | (ActionPath extends infer P
      ? P extends `/api/ops/${infer N}`
        ? N extends `${string}/${string}`
          ? never
          : Snake<N>
        : never
      : never)
  | "approve"
  | "accept_suggestion"
  | "decline_suggestion"
  | (string & {});

export interface KpiState {
  summary: KpiSummary | null;
  error: import("./errors.js").OpsError | null;
  live: boolean;
}
