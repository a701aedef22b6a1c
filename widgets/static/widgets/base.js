// What every Molam widget shares: an open shadow root with one stylesheet,
// escaping, the loading/ready/error/empty states (reflected in the host's
// data-state attribute), the message line, the §6 error display, and
// healing: a widget that could not load tries again by itself.

import { backoff } from "./api.js";
import { gettext, ready } from "./i18n.js";
import { onReconnect } from "./live.js";

// The widgets showing "Could not load" now. Each retries after a growing
// delay (api.js backoff), and all of them at once when the browser is online
// again or the KPI socket is back: both say the server is reachable. Then
// every widget's back() runs too: a loaded widget whose last read of its own
// failed (shown, or kept quiet) reads again.
const failing = new Set();
const connected = new Set();
function healAll() {
  for (const element of [...failing]) element.heal();
  for (const element of connected) element.back();
}
window.addEventListener("online", healAll);
onReconnect(healAll);

const CSS = `
:host { display: block; font: inherit; color: var(--molam-fg, #1f2937); }
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.card { background: var(--molam-card, #ffffff); border: 1px solid var(--molam-border, #d1d5db);
  border-radius: 14px; padding: 1.25rem 1.5rem; height: 100%; }
h2 { font-size: 0.95rem; font-weight: 600; margin: 0 0 0.75rem; letter-spacing: 0.01em;
  color: var(--molam-muted, #4b5563); text-transform: uppercase; }
h3 { font-size: 1.05rem; margin: 0 0 0.5rem; }
.big { font-size: clamp(1.15rem, 1.6vw, 1.9rem); font-weight: 650; margin: 0.25rem 0 0.5rem; font-variant-numeric: tabular-nums; }
.muted { color: var(--molam-muted, #4b5563); font-size: 0.875rem; }
.row { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 0.35rem 1rem; margin: 0.5rem 0 0; }
dt { color: var(--molam-muted, #4b5563); font-size: 0.875rem; }
dd { margin: 0; font-variant-numeric: tabular-nums; text-align: right; }
button, .button { font: inherit; border-radius: 10px; border: 1px solid var(--molam-border, #d1d5db);
  background: var(--molam-card, #ffffff); color: var(--molam-fg, #1f2937);
  padding: 0.5rem 0.9rem; cursor: pointer; text-decoration: none; display: inline-block; }
button.primary { background: var(--molam-primary, #1d4ed8); border-color: var(--molam-primary, #1d4ed8);
  color: var(--molam-on-accent, #ffffff); }
button.danger { background: var(--molam-danger, #b91c1c); border-color: var(--molam-danger, #b91c1c);
  color: var(--molam-on-accent, #ffffff); }
button:disabled { opacity: 0.6; cursor: not-allowed; }
button:focus-visible, a:focus-visible, select:focus-visible, input:focus-visible,
textarea:focus-visible { outline: 3px solid var(--molam-focus, #2563eb); outline-offset: 2px; }
label { display: block; font-size: 0.875rem; margin: 0.75rem 0 0.25rem; }
input, select, textarea { font: inherit; width: 100%; padding: 0.45rem 0.6rem; border-radius: 8px;
  border: 1px solid var(--molam-border, #d1d5db); background: var(--molam-card, #ffffff);
  color: var(--molam-fg, #1f2937); }
dialog { border: 1px solid var(--molam-border, #d1d5db); border-radius: 14px; padding: 1.5rem;
  max-width: 32rem; width: calc(100% - 2rem); background: var(--molam-card, #ffffff);
  color: var(--molam-fg, #1f2937); }
dialog::backdrop { background: rgb(15 23 42 / 0.55); }
.actions { display: flex; gap: 0.75rem; justify-content: flex-end; margin-top: 1.25rem; }
.skeleton { border-radius: 8px; height: 1rem; margin: 0.6rem 0;
  background: linear-gradient(90deg, var(--molam-skel, #e5e7eb) 25%, var(--molam-skel-hi, #f3f4f6) 50%,
  var(--molam-skel, #e5e7eb) 75%); background-size: 200% 100%; animation: shimmer 1.4s infinite; }
.skeleton.tall { height: 2.2rem; width: 60%; }
@keyframes shimmer { from { background-position: 200% 0; } to { background-position: -200% 0; } }
@media (prefers-reduced-motion: reduce) { .skeleton { animation: none; } }
.message { margin-top: 0.75rem; padding: 0.6rem 0.8rem; border-radius: 10px; font-size: 0.9rem; }
.message.error { background: var(--molam-red-bg, #fee2e2); color: var(--molam-red-fg, #7f1d1d); }
.message.ok { background: var(--molam-green-bg, #dcfce7); color: var(--molam-green-fg, #14532d); }
.message.wait { background: var(--molam-yellow-bg, #fef9c3); color: var(--molam-yellow-fg, #713f12); }
.message.info { background: var(--molam-info-bg, #e0e7ff); color: var(--molam-info-fg, #1e3a8a); }
.pill { display: inline-block; border-radius: 999px; padding: 0.1rem 0.55rem; font-size: 0.8rem; font-weight: 600; }
.pill.green { background: var(--molam-green-bg, #dcfce7); color: var(--molam-green-fg, #14532d); }
.pill.yellow { background: var(--molam-yellow-bg, #fef9c3); color: var(--molam-yellow-fg, #713f12); }
.pill.red { background: var(--molam-red-bg, #fee2e2); color: var(--molam-red-fg, #7f1d1d); }
.pill.neutral { background: var(--molam-skel, #e5e7eb); color: var(--molam-fg, #1f2937); }
.live { font-size: 0.75rem; color: var(--molam-muted, #4b5563); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
ul.plain { list-style: none; padding: 0; margin: 0; }
table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--molam-border, #d1d5db); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
@media (prefers-color-scheme: dark) {
  :host { color: var(--molam-fg, #e5e7eb); }
  .card, dialog, input, select, textarea, button { background: var(--molam-card, #111827);
    color: var(--molam-fg, #e5e7eb); border-color: var(--molam-border, #374151); }
  button:focus-visible, a:focus-visible, select:focus-visible, input:focus-visible,
  textarea:focus-visible { outline-color: var(--molam-focus, #60a5fa); }
  h2, .muted, dt, .live { color: var(--molam-muted, #9ca3af); }
  .skeleton { background: linear-gradient(90deg, var(--molam-skel, #1f2937) 25%, var(--molam-skel-hi, #374151) 50%,
    var(--molam-skel, #1f2937) 75%); background-size: 200% 100%; }
  .message.error, .pill.red { background: var(--molam-red-bg, #450a0a); color: var(--molam-red-fg, #fecaca); }
  .message.ok, .pill.green { background: var(--molam-green-bg, #052e16); color: var(--molam-green-fg, #bbf7d0); }
  .message.wait, .pill.yellow { background: var(--molam-yellow-bg, #422006); color: var(--molam-yellow-fg, #fef08a); }
  .message.info { background: var(--molam-info-bg, #1e1b4b); color: var(--molam-info-fg, #c7d2fe); }
  .pill.neutral { background: #374151; color: #e5e7eb; }
}
`;

let sheet = null;
function stylesheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

// The text of a §6 error (or a network failure) for a person.
export function errorText(err) {
  if (!err) return "";
  if (err.status === 0) return gettext("The server could not be reached. Check your connection and retry.");
  const fields = Object.entries(err.fields || {})
    .map(([name, msgs]) => `${name}: ${[].concat(msgs).map((m) => (typeof m === "string" ? m : JSON.stringify(m))).join(" ")}`)
    .join("; ");
  return [err.message || gettext("Something went wrong."), fields].filter(Boolean).join(" — ");
}

export class MolamElement extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.shadowRoot.adoptedStyleSheets = [stylesheet()];
  }

  async connectedCallback() {
    connected.add(this);
    this.setState("loading");
    this.paint(`<div class="card" aria-busy="true"><span class="visually-hidden">${esc(gettext("Loading…"))}</span>
      <div class="skeleton" style="width:40%"></div><div class="skeleton tall"></div>
      <div class="skeleton"></div><div class="skeleton" style="width:70%"></div></div>`);
    await ready();
    this.start();
  }

  disconnectedCallback() {
    if (this.unsubscribe) this.unsubscribe();
    this.unsubscribe = null;
    this.stopHealing();
    connected.delete(this);
  }

  // The network or the socket is back (see healAll); nothing by default.
  back() {}

  setState(state) {
    this.dataset.state = state;
    if (state !== "error") {
      this.stopHealing();
      this.healAttempts = 0; // loaded: the next failure starts at 1 s again
    }
  }

  paint(html) {
    this.shadowRoot.innerHTML = html;
  }

  $(selector) {
    return this.shadowRoot.querySelector(selector);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // A widget that cannot work with what it was given (bad attribute).
  invalid(title, text) {
    this.setState("invalid");
    this.paint(`<section class="card" aria-label="${esc(title)}"><h2>${esc(title)}</h2>
      <p class="message error" role="alert">${esc(text)}</p></section>`);
  }

  // Could not load: the reason and a retry button; `retry` also runs by
  // itself (heal). A retry that fails again calls failed() again, and waits
  // longer before the next; one that succeeds paints another state.
  failed(title, err, retry) {
    this.setState("error");
    this.paint(`<section class="card" aria-label="${esc(title)}"><h2>${esc(title)}</h2>
      <p class="message error" role="alert">${esc(gettext("Could not load this widget."))} ${esc(errorText(err))}</p>
      <div class="actions"><button type="button" class="retry">${esc(gettext("Retry"))}</button></div></section>`);
    this.retry = retry;
    this.$(".retry").addEventListener("click", () => this.heal());
    this.stopHealing();
    failing.add(this);
    this.healTimer = setTimeout(() => this.heal(), backoff(this.healAttempts || 0));
    this.healAttempts = (this.healAttempts || 0) + 1;
  }

  // Run the retry of the failure shown now, once.
  heal() {
    if (!failing.has(this)) return;
    this.stopHealing();
    this.retry();
  }

  stopHealing() {
    failing.delete(this);
    clearTimeout(this.healTimer);
    this.healTimer = null;
  }
}

let dialogSeq = 0;

// A modal confirmation naming what will happen, with a form for the action's
// fields. onConfirm(values) runs the action; it returns {kind, text} to show
// in the widget, or throws an ApiError shown in the dialog, whose confirm
// button then reads "Retry" (the caller keeps the same Intent, so the same
// Idempotency-Key). onOpen(dialog), if given, runs once the dialog is shown.
// Resolves with the result, or null when cancelled.
export function confirmDialog(host, { title, text, fields = "", confirmLabel, busyLabel, danger = false, onConfirm, onOpen }) {
  const id = `dlg-${++dialogSeq}`;
  const dialog = document.createElement("dialog");
  dialog.setAttribute("aria-labelledby", `${id}-title`);
  dialog.setAttribute("aria-describedby", `${id}-text`);
  dialog.innerHTML = `<form method="dialog" novalidate>
      <h3 id="${id}-title">${esc(title)}</h3>
      <p id="${id}-text">${esc(text)}</p>
      ${fields}
      <p class="message error" role="alert" hidden></p>
      <div class="actions">
        <button type="button" value="cancel" class="cancel">${esc(gettext("Cancel"))}</button>
        <button type="submit" value="confirm" class="${danger ? "danger" : "primary"} confirm">${esc(confirmLabel)}</button>
      </div></form>`;
  host.shadowRoot.appendChild(dialog);
  const form = dialog.querySelector("form");
  const confirm = dialog.querySelector(".confirm");
  const alert = dialog.querySelector("[role=alert]");
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.querySelector(".cancel").addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (event) => {
      if (confirm.disabled) event.preventDefault(); // not while it runs
      else finish(null);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const values = Object.fromEntries(new FormData(form).entries());
      confirm.disabled = true;
      confirm.setAttribute("aria-busy", "true");
      confirm.textContent = busyLabel || gettext("Working…");
      alert.hidden = true;
      try {
        finish(await onConfirm(values));
      } catch (err) {
        alert.textContent = errorText(err);
        alert.hidden = false;
        confirm.disabled = false;
        confirm.removeAttribute("aria-busy");
        confirm.textContent = gettext("Retry");
      }
    });
    dialog.showModal();
    if (onOpen) onOpen(dialog);
  });
}
