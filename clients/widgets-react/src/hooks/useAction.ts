import { useCallback, useEffect, useRef, useState } from "react";
import type { ActionResult, CallOptions } from "@molam/ops-sdk";
import { toFailure, type Failure } from "./failure.js";
import { newIdempotencyKey } from "./keys.js";

export type Perform<B, T> = (body: B, options: CallOptions) => Promise<ActionResult<T>>;

export interface UseAction<B, T> {
  /** Run the action with `body`. Never rejects: resolves with the result,
   *  or null when it failed (then `error` says why). While one run is
   *  pending, another call returns that same run. */
  run(body: B): Promise<ActionResult<T> | null>;
  pending: boolean;
  result: ActionResult<T> | null;
  error: Failure | null;
  /** Forget the last attempt: the next run is a new submission, with a new key. */
  reset(): void;
}

interface Attempt {
  key: string;
  body: string;
  done: boolean;
}

/** An ops action the person submits, with one Idempotency-Key per logical
 *  attempt: retrying a failed submission with the same body sends the same
 *  key (the server answers once, however many times it is asked); a changed
 *  body, a run after a success, or reset() starts a new attempt and key. */
export function useAction<B, T = unknown>(perform: Perform<B, T>): UseAction<B, T> {
  const performRef = useRef(perform);
  useEffect(() => {
    performRef.current = perform;
  });
  const attempt = useRef<Attempt | null>(null);
  const running = useRef<Promise<ActionResult<T> | null> | null>(null);
  const [state, setState] = useState<{ pending: boolean; result: ActionResult<T> | null; error: Failure | null }>({
    pending: false,
    result: null,
    error: null,
  });

  const run = useCallback((body: B): Promise<ActionResult<T> | null> => {
    if (running.current) return running.current;
    const text = JSON.stringify(body) ?? "";
    let current = attempt.current;
    if (!current || current.done || current.body !== text) {
      current = { key: newIdempotencyKey(), body: text, done: false };
      attempt.current = current;
    }
    const mine = current;
    setState({ pending: true, result: null, error: null });
    const promise = performRef.current(body, { idempotencyKey: mine.key }).then(
      (result) => {
        mine.done = true;
        setState({ pending: false, result, error: null });
        return result;
      },
      (err: unknown) => {
        setState({ pending: false, result: null, error: toFailure(err) });
        return null;
      },
    );
    running.current = promise;
    void promise.finally(() => {
      running.current = null;
    });
    return promise;
  }, []);

  const reset = useCallback(() => {
    attempt.current = null;
    setState({ pending: false, result: null, error: null });
  }, []);

  return { ...state, run, reset };
}
