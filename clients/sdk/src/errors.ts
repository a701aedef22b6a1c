import type { ErrorCode } from "./types.js";

/** The code of an answer that is not the service's error envelope (a proxy's
 *  HTML 502 page): "http_" and its status. */
export type HttpStatusCode = `http_${number}`;

/** Every failure is an OpsError: the service's error envelope, an answer
 *  that is not one (code "http_<status>"), or no answer at all (status 0). */
export class OpsError extends Error {
  readonly status: number;
  readonly code: ErrorCode | "network_error" | HttpStatusCode;
  readonly fields: Record<string, unknown>;
  /** Seconds, from Retry-After (429, 503), else null. */
  readonly retryAfter: number | null;

  constructor(init: {
    status: number;
    code: ErrorCode | "network_error" | HttpStatusCode;
    message: string;
    fields?: Record<string, unknown>;
    retryAfter?: number | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "OpsError";
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields ?? {};
    this.retryAfter = init.retryAfter ?? null;
  }
}

export function isOpsError(value: unknown): value is OpsError {
  return value instanceof OpsError;
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(headers: Headers): number | null {
  const value = headers.get("Retry-After");
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The OpsError for a non-2xx answer; a body that is not the §6 envelope
 *  (a proxy's HTML page) still gives its status and a code naming it. */
export function errorFromResponse(response: Response, body: unknown): OpsError {
  const detail = isRecord(body) && isRecord(body["error"]) ? body["error"] : {};
  const code: ErrorCode | HttpStatusCode =
    typeof detail["code"] === "string"
      ? // the service's code, one of those its schema names
        (detail["code"] as ErrorCode)
      : `http_${response.status}`;
  const message =
    typeof detail["message"] === "string" && detail["message"]
      ? detail["message"]
      : `${response.status} ${response.statusText}`.trim();
  return new OpsError({
    status: response.status,
    code,
    message,
    fields: isRecord(detail["fields"]) ? detail["fields"] : {},
    retryAfter: retryAfterSeconds(response.headers),
  });
}
