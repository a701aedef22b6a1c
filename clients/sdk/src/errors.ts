import type { ErrorCode } from "./types.js";

/** Every failure is an OpsError: the service's §6 envelope, or a network failure (status 0). */
export class OpsError extends Error {
  readonly status: number;
  readonly code: ErrorCode | "network_error";
  readonly fields: Record<string, unknown>;
  /** Seconds, from Retry-After (429, 503), else null. */
  readonly retryAfter: number | null;

  constructor(init: {
    status: number;
    code: ErrorCode | "network_error";
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
  const code = typeof detail["code"] === "string" ? detail["code"] : `http_${response.status}`;
  const message =
    typeof detail["message"] === "string" && detail["message"]
      ? detail["message"]
      : `${response.status} ${response.statusText}`.trim();
  return new OpsError({
    status: response.status,
    // the service's code, as the schema names its codes
    code: code as ErrorCode,
    message,
    fields: isRecord(detail["fields"]) ? detail["fields"] : {},
    retryAfter: retryAfterSeconds(response.headers),
  });
}
