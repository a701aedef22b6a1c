// The KPI summary, shared by every widget of the page: pushed by the socket
// /ws/kpis/ when it changes; while the socket is down, GET
// /api/metrics/summary every refreshInterval (the smallest asked for) and
// reconnect with a growing delay.

import { baseUrl, get, token } from "./api.js";

const subscribers = new Set();
let summary = null;
let error = null;
let socket = null;
let live = false;
let pollTimer = null;
let retryDelay = 1000;
let reconnectTimer = null;

function notify() {
  for (const sub of subscribers) sub.callback({ summary, error, live });
}

function interval() {
  let smallest = Infinity;
  for (const sub of subscribers) smallest = Math.min(smallest, sub.refreshInterval);
  return Number.isFinite(smallest) ? smallest : 30000;
}

export async function refresh() {
  try {
    summary = (await get("/api/metrics/summary")).body.summary;
    error = null;
  } catch (err) {
    error = err;
  }
  notify();
}

function startPolling() {
  stopPolling();
  pollTimer = setTimeout(async function tick() {
    await refresh();
    if (!live && subscribers.size) pollTimer = setTimeout(tick, interval());
  }, interval());
}

function stopPolling() {
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
      live = true;
      retryDelay = 1000;
      stopPolling();
      summary = message.summary;
      error = null;
      notify();
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
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 30000);
}

// Ask the socket for the latest summary (or fetch it when polling).
export function requestRefresh() {
  if (live && socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "refresh" }));
  } else {
    refresh();
  }
}

export function subscribe(callback, { refreshInterval = 30000 } = {}) {
  const sub = { callback, refreshInterval: Math.max(1000, Number(refreshInterval) || 30000) };
  subscribers.add(sub);
  if (summary || error) callback({ summary, error, live });
  if (!socket) {
    connect();
    if (!summary) refresh(); // do not wait for the socket to say hello
  }
  return () => {
    subscribers.delete(sub);
    if (!subscribers.size && socket) socket.close(1000);
  };
}

export function status() {
  return { summary, error, live };
}
