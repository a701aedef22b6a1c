// The live KPI summary of one client, shared by all its subscribers: pushed by
// the /ws/kpis/ socket when it changes; while the socket is down, read from
// GET /api/metrics/summary every refreshInterval (the smallest asked for) and
// the socket reconnected after a growing delay, at once when the runtime says
// it is online again. The same rules as the dashboard's own live.js.
import { OpsError } from "./errors.js";
import type {
  KpiState,
  KpiSummary,
  TokenProvider,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";

export interface KpiHubOptions {
  baseUrl: string;
  token: TokenProvider | undefined;
  WebSocket: WebSocketConstructor | undefined;
  summary: () => Promise<KpiSummary>;
}

interface Subscriber {
  listener: (state: KpiState) => void;
  refreshInterval: number;
}

// close codes of the service (like HTTP 401 and 403); 4403: these credentials
// will never do, so polling shows the error and no reconnect is tried
const CLOSE_FORBIDDEN = 4403;
const DEFAULT_INTERVAL = 30000;

/** 1 s doubling to at most 30 s, spread ±25% so that many clients coming
 *  back together do not all knock at the same instant. */
function reconnectDelay(attempt: number): number {
  const base = Math.min(1000 * 2 ** Math.min(attempt, 5), 30000);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

function asOpsError(err: unknown): OpsError {
  if (err instanceof OpsError) return err;
  return new OpsError({ status: 0, code: "network_error", message: String(err), cause: err });
}

function socketUrl(baseUrl: string): string {
  const url = new URL(`${baseUrl}/ws/kpis/`);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

type OnlineTarget = {
  addEventListener?: (type: "online", listener: () => void) => void;
  removeEventListener?: (type: "online", listener: () => void) => void;
};

export function createKpiHub(options: KpiHubOptions) {
  const subscribers = new Set<Subscriber>();
  let summary: KpiSummary | null = null;
  let error: OpsError | null = null;
  let live = false;
  let socket: WebSocketLike | null = null;
  let connecting = false;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let pollEvery = DEFAULT_INTERVAL;
  let pollChain = 0;
  let attempts = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let inFlight: Promise<void> | null = null;

  function notify(): void {
    const state: KpiState = { summary, error, live };
    for (const sub of subscribers) sub.listener(state);
  }

  function interval(): number {
    let smallest = Infinity;
    for (const sub of subscribers) smallest = Math.min(smallest, sub.refreshInterval);
    return Number.isFinite(smallest) ? smallest : DEFAULT_INTERVAL;
  }

  // One read at a time: subscribers asking together share it.
  function refresh(): Promise<void> {
    inFlight ??= (async () => {
      try {
        const read = await options.summary();
        // the socket's push is newer than a read that was on its way meanwhile
        if (!live) {
          summary = read;
          error = null;
        }
      } catch (err) {
        if (!live) error = asOpsError(err);
      } finally {
        inFlight = null;
      }
      if (subscribers.size) notify();
    })();
    return inFlight;
  }

  // Each start of polling is a chain of its own: a tick still awaiting its
  // read when polling restarts or stops must not schedule another, or two
  // chains would poll side by side and one would outlive the socket's return.
  function startPolling(): void {
    stopPolling();
    const chain = pollChain;
    pollEvery = interval();
    const tick = async () => {
      await refresh();
      if (chain !== pollChain) return;
      if (!live && subscribers.size) {
        pollEvery = interval();
        pollTimer = setTimeout(() => void tick(), pollEvery);
      } else {
        pollTimer = null;
      }
    };
    pollTimer = setTimeout(() => void tick(), pollEvery);
  }

  function stopPolling(): void {
    pollChain += 1;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function scheduleReconnect(): void {
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      void connect();
    }, reconnectDelay(attempts++));
  }

  function onMessage(data: unknown): void {
    let message: { type?: unknown; summary?: KpiSummary };
    try {
      message = JSON.parse(typeof data === "string" ? data : String(data));
    } catch {
      return;
    }
    if (message?.type !== "summary" || !message.summary) return;
    live = true;
    attempts = 0;
    stopPolling();
    summary = message.summary;
    error = null;
    notify();
  }

  function onClose(code: number): void {
    socket = null;
    const wasLive = live;
    live = false;
    if (wasLive) notify();
    if (subscribers.size) {
      startPolling();
      if (code !== CLOSE_FORBIDDEN) scheduleReconnect();
    }
  }

  async function connect(): Promise<void> {
    if (socket || connecting || !subscribers.size) return;
    const WS =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) {
      // no socket in this runtime: polling alone keeps the summary fresh
      if (!pollTimer) startPolling();
      return;
    }
    connecting = true;
    let token: string | null | undefined = null;
    try {
      token = options.token ? await options.token() : null;
    } catch {
      token = null; // the socket refuses us (4401) and polling reports the error
    } finally {
      connecting = false;
    }
    if (socket || !subscribers.size) return;
    let ws: WebSocketLike;
    try {
      const url = socketUrl(options.baseUrl);
      ws = token ? new WS(url, ["molam.jwt", token]) : new WS(url);
    } catch {
      startPolling();
      scheduleReconnect();
      return;
    }
    socket = ws;
    // a socket left behind by unsubscribe or a newer connect speaks no more
    ws.addEventListener("message", (event) => socket === ws && onMessage(event.data));
    ws.addEventListener("close", (event) => socket === ws && onClose(event.code));
    // `ws` in Node throws an "error" nobody listens to; the close that follows is handled
    ws.addEventListener("error", () => undefined);
  }

  // Back online: try the socket now rather than at the end of its backoff.
  const onOnline = () => {
    if (!subscribers.size) return;
    attempts = 0;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!socket) void connect();
    if (!live) void refresh();
  };
  const runtime = globalThis as OnlineTarget;

  function stop(): void {
    stopPolling();
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = null;
    attempts = 0;
    runtime.removeEventListener?.("online", onOnline);
    const open = socket;
    socket = null;
    live = false;
    open?.close(1000);
  }

  function subscribe(
    listener: (state: KpiState) => void,
    subscribeOptions?: { refreshInterval?: number },
  ): () => void {
    const sub: Subscriber = {
      listener,
      refreshInterval: Math.max(1000, Number(subscribeOptions?.refreshInterval) || DEFAULT_INTERVAL),
    };
    if (!subscribers.size) runtime.addEventListener?.("online", onOnline);
    subscribers.add(sub);
    listener({ summary, error, live });
    if (!socket) {
      void connect();
      if (!live) void refresh(); // do not wait for the socket to say hello
    }
    // polling already: a subscriber asking more often is served from now on
    if (pollTimer && sub.refreshInterval < pollEvery) startPolling();
    return () => {
      if (!subscribers.delete(sub)) return;
      if (!subscribers.size) stop();
    };
  }

  return { subscribe };
}
