// The KPI summary, shared by every widget of the page: pushed by the socket
// /ws/kpis/ when it changes; while the socket is down, GET
// /api/metrics/summary every refreshInterval (the smallest asked for) and
// reconnect after a growing delay (api.js backoff) — at once when the
// browser says it is online again.

import { backoff, baseUrl, get, token } from "./api.js";

const subscribers = new Set();
const reconnectListeners = new Set();
let summary = null;
let error = null;
let socket = null;
let live = false;
let pollTimer = null;
let pollEvery = null;
let attempts = 0;
let reconnectTimer = null;
let inFlight = null;

function notify() {
  for (const sub of subscribers) sub.callback({ summary, error, live });
}

function interval() {
  let smallest = Infinity;
  for (const sub of subscribers) smallest = Math.min(smallest, sub.refreshInterval);
  return Number.isFinite(smallest) ? smallest : 30000;
}

// One read at a time: widgets retrying together share it.
export function refresh() {
  if (!inFlight) {
    inFlight = (async () => {
      try {
        summary = (await get("/api/metrics/summary")).body.summary;
        error = null;
      } catch (err) {
        error = err;
      } finally {
        inFlight = null;
      }
      notify();
    })();
  }
  return inFlight;
}

// Each start of polling is a chain of its own: a tick still awaiting its
// read when polling restarts or stops must not schedule another, or two
// chains would poll side by side and one would outlive the socket's return.
let pollChain = 0;

function startPolling() {
  stopPolling();
  const chain = pollChain;
  pollEvery = interval();
  pollTimer = setTimeout(async function tick() {
    await refresh();
    if (chain !== pollChain) return;
    if (!live && subscribers.size) {
      pollEvery = interval();
      pollTimer = setTimeout(tick, pollEvery);
    } else {
      pollTimer = null;
    }
  }, pollEvery);
}

function stopPolling() {
  pollChain += 1;
  if (pollTimer) clearTimeout(pollTimer);
  pollTimer = null;
}

function connect() {
  if (socket || !subscribers.size) return;
  const url = new URL("/ws/kpis/", baseUrl());
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const protocols = token() ? ["molam.jwt", token()] : undefined;
  try {
    socket = new WebSocket(url, protocols);
  } catch (err) {
    socket = null;
    startPolling();
    scheduleReconnect();
    return;
  }
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (message.type === "summary") {
      const back = !live;
      live = true;
      attempts = 0;
      stopPolling();
      summary = message.summary;
      error = null;
      notify();
      if (back) for (const listener of reconnectListeners) listener();
    }
  });
  socket.addEventListener("close", (event) => {
    socket = null;
    const wasLive = live;
    live = false;
    if (wasLive) notify();
    // 4401/4403: our credentials are refused; polling will show the error
    if (subscribers.size) {
      startPolling();
      if (event.code !== 4403) scheduleReconnect();
    }
  });
}

function scheduleReconnect() {
  if (reconnectTimer) return;
  reconnectTimer = setTimeout(() => {
    reconnectTimer = null;
    connect();
  }, backoff(attempts++));
}

// Back online: try the socket now rather than at the end of its backoff,
// and read the summary meanwhile.
window.addEventListener("online", () => {
  if (!subscribers.size) return;
  attempts = 0;
  if (reconnectTimer) clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (!socket) connect();
  if (!live) refresh();
});

// Ask the socket for the latest summary (or fetch it when polling).
export function requestRefresh() {
  if (live && socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "refresh" }));
  } else {
    refresh();
  }
}

// `listener()` each time the socket (re)starts pushing summaries; returns
// the function that stops it.
export function onReconnect(listener) {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

export function subscribe(callback, { refreshInterval = 30000 } = {}) {
  const sub = { callback, refreshInterval: Math.max(1000, Number(refreshInterval) || 30000) };
  subscribers.add(sub);
  if (summary || error) callback({ summary, error, live });
  if (!socket) {
    connect();
    if (!summary) refresh(); // do not wait for the socket to say hello
  }
  // polling already: a widget asking more often is served from now on
  if (pollTimer && sub.refreshInterval < pollEvery) startPolling();
  return () => {
    subscribers.delete(sub);
    if (!subscribers.size && socket) socket.close(1000);
  };
}

export function status() {
  return { summary, error, live };
}
