// Reads through the typed raw client (client.api) for what has no SDK
// method: its failures become the same OpsError the methods throw.

import { OpsError } from "@molam/ops-sdk";

export function errorFromResult(result: { error?: unknown; response: Response }): OpsError {
  const body = result.error as { error?: { code?: string; message?: string; fields?: Record<string, unknown> } } | undefined;
  return new OpsError({
    status: result.response.status,
    code: (body?.error?.code ?? `http_${result.response.status}`) as OpsError["code"],
    message: body?.error?.message ?? `${result.response.status} ${result.response.statusText}`.trim(),
    fields: body?.error?.fields ?? {},
  });
}
