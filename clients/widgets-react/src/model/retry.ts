import type { Failure } from "../hooks/failure.js";

export interface Part {
  /** Whether this part has what the widget shows. */
  ok: boolean;
  error: Failure | null;
  reload(): Promise<void>;
}

/** What a widget made of several reads shows when one failed: the first
 *  error, and one retry that reads again every part that has nothing. */
export interface Failed {
  error: Failure | null;
  retry(): void;
}

export function failed(...parts: Part[]): Failed | null {
  const missing = parts.filter((p) => !p.ok);
  if (!missing.length) return null;
  return {
    error: missing.find((p) => p.error)?.error ?? null,
    retry: () => {
      for (const part of missing) void part.reload();
    },
  };
}
