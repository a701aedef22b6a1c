// Talking to the Molam Ops API: where it is, who we are, and the DESIGN §6
// envelope. Every POST of an ops action carries an Idempotency-Key made once
// per intent (crypto.randomUUID) and reused when that intent is retried.

const config = {
  // The server that serves this module, unless a page says otherwise with
  // <meta name="molam-ops-base" content="https://ops.example"> or configure().
  baseUrl:
    document.querySelector('meta[name="molam-ops-base"]')?.content ||
    new URL(import.meta.url).origin,
  token: null, // a Molam ID JWT, for pages without the session cookie
};

export function configure({ baseUrl, token } = {}) {
  if (baseUrl) config.baseUrl = baseUrl.replace(/\/$/, "");
  if (token !== undefined) config.token = token;
  mePromise = null;
}

export function baseUrl() {
  return config.baseUrl;
}

export function token() {
  return config.token;
}

export class ApiError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// {status, body}; throws ApiError for a §6 error or a network failure.
export async function request(method, path, { body, key, raw } = {}) {
  const headers = { Accept: "application/json" };
  if (config.token) headers.Authorization = `Bearer ${config.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(config.baseUrl + path, {
      method,
      headers,
      credentials: config.token ? "omit" : "include",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network_error", "", {});
  }
  if (raw && response.ok) return { status: response.status, response };
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok || !data || data.ok === false) {
    const error = (data && data.error) || {};
    throw new ApiError(
      response.status,
      error.code || "http_" + response.status,
      error.message || response.statusText,
      error.fields,
    );
  }
  return { status: response.status, body: data, replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

export const get = (path) => request("GET", path);

// The wait before retry number `attempt` (0, 1, …) of something that failed:
// 1 s doubling to at most 30 s, each spread ±25% so that many pages (or
// widgets) coming back together do not all ask at the same instant.
export function backoff(attempt) {
  const base = Math.min(1000 * 2 ** Math.min(attempt, 5), 30000);
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

// One operator intent (a confirmed freeze, a retry batch): the same key for
// every retry of the same body; a changed body is a new intent.
export class Intent {
  constructor() {
    this.key = null;
    this.bodyText = null;
  }
  keyFor(body) {
    const text = JSON.stringify(body);
    if (this.key === null || text !== this.bodyText) {
      this.key = crypto.randomUUID();
      this.bodyText = text;
    }
    return this.key;
  }
}

// POST an ops action named as in the registry (/api/ops/me "actions").
export async function runAction(me, name, body, intent, params = {}) {
  const template = me.actions[name];
  if (!template) throw new ApiError(403, "forbidden", "", {});
  const path = template.replace(/\{(\w+)\}/g, (_m, p) => encodeURIComponent(params[p]));
  return request("POST", path, { body, key: intent.keyFor(body) });
}

let mePromise = null;

// {id, roles, lang, actions: {name: url}, available_actions: [...]}
export function me() {
  if (!mePromise) {
    mePromise = get("/api/ops/me").then((r) => r.body);
    mePromise.catch(() => {
      mePromise = null; // a failure is retried by the next caller
    });
  }
  return mePromise;
}
