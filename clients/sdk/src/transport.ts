// The fetch every request of a client goes through (openapi-fetch's and the
// SDK's own): credentials and language on each attempt, and the retries.
import { OpsError, retryAfterSeconds } from "./errors.js";
import { abortReason, backoffDelay, sleep, type RetryPolicy } from "./retry.js";
import type { TokenProvider } from "./types.js";

export interface TransportOptions {
  fetch: typeof fetch | undefined;
  token: TokenProvider | undefined;
  lang: string | undefined;
  policy: RetryPolicy;
}

// Repeating these cannot do anything twice; a POST is repeated only with the
// Idempotency-Key that makes the service run it once.
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

function repeatable(request: Request): boolean {
  return SAFE_METHODS.has(request.method) || request.headers.has("Idempotency-Key");
}

async function inFlightConflict(response: Response): Promise<boolean> {
  if (response.status !== 409) return false;
  try {
    const body: unknown = await response.clone().json();
    const error = (body as { error?: { code?: unknown } } | null)?.error;
    return error?.code === "idempotency_key_in_use";
  } catch {
    return false;
  }
}

/** The wait before retrying this answer, or null when it is final. */
async function retryDelay(response: Response, policy: RetryPolicy, attempt: number) {
  if (response.status === 429 || response.status === 503) {
    const after = retryAfterSeconds(response.headers);
    if (after === null) return backoffDelay(policy, attempt);
    // a long Retry-After is the caller's to decide on (OpsError.retryAfter)
    const ms = after * 1000;
    return ms > policy.maxDelayMs ? null : Math.max(ms, backoffDelay(policy, 0));
  }
  // the first request with this key is still running: ask again shortly
  if (await inFlightConflict(response)) return backoffDelay(policy, attempt);
  return null;
}

export function createTransport(options: TransportOptions): (request: Request) => Promise<Response> {
  const { policy } = options;

  async function attempt(original: Request): Promise<Response> {
    const request = original.clone();
    const token = options.token ? await options.token() : null;
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    if (options.lang) request.headers.set("Accept-Language", options.lang);
    request.headers.set("Accept", "application/json");
    // looked up per call: a polyfill installed after the client was made is used
    const fetchImpl = options.fetch ?? globalThis.fetch;
    return fetchImpl(request);
  }

  return async function send(request: Request): Promise<Response> {
    const canRepeat = repeatable(request);
    for (let n = 0; ; n += 1) {
      const last = n >= policy.retries || !canRepeat;
      let response: Response;
      try {
        response = await attempt(request);
      } catch (cause) {
        // (a fetch polyfill's Request may have no signal at all)
        const signal = request.signal as AbortSignal | undefined;
        if (signal?.aborted) throw abortReason(signal);
        if (last) {
          throw new OpsError({ status: 0, code: "network_error", message: String(cause), cause });
        }
        await sleep(backoffDelay(policy, n), request.signal);
        continue;
      }
      if (last) return response;
      const delay = await retryDelay(response, policy, n);
      if (delay === null) return response;
      await response.body?.cancel().catch(() => undefined);
      await sleep(delay, request.signal);
    }
  };
}
