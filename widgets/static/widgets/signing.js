// Multi-signature requests as every widget shows and signs them: the reads,
// the signers and time-left lines, and the one sign/decline dialog. Widgets
// other than the inbox ask for that dialog with openApproval(): the inbox on
// the page takes the request (document event "molam-approval-open"); a page
// without one gets the same dialog in the asking widget.

import { ApiError, get, Intent, runAction } from "./api.js";
import { confirmDialog, esc } from "./base.js";
import { gettext, interpolate, ngettext, number } from "./i18n.js";

export const OPEN_EVENT = "molam-approval-open";
export const DECIDED_EVENT = "molam-approval-decided";

const query = (params) => new URLSearchParams({ limit: "50", ...params }).toString();

export async function signable() {
  return (await get(`/api/ops/pending-approvals?${query({ signable: "true" })}`)).body.results;
}

export async function pending(params = {}) {
  return (await get(`/api/ops/pending-approvals?${query(params)}`)).body.results;
}

export async function mine() {
  return (await get(`/api/ops/approvals?${query({ mine: "true", limit: "20" })}`)).body.results;
}

export async function approval(id) {
  return (await get(`/api/ops/approvals/${encodeURIComponent(id)}`)).body.approval;
}

// The id a 409 approval_pending names (error.fields.approval_id).
export function pendingId(err) {
  if (!(err instanceof ApiError) || err.code !== "approval_pending") return null;
  return [].concat(err.fields.approval_id || [])[0] || null;
}

export const signers = (a) => (a.approvers || []).filter((s) => s.decision === "approve");

// "1 of 2 signatures, by bruno"
export function progress(a) {
  const names = signers(a).map((s) => s.signer_id);
  const required = a.required_approvals || 0;
  const counts = { current: number(names.length), required: number(required) };
  const text = ngettext("%(current)s of %(required)s signature", "%(current)s of %(required)s signatures", required);
  return names.length
    ? interpolate(gettext("%(signatures)s, by %(names)s"), { signatures: interpolate(text, counts), names: names.join(", ") })
    : interpolate(text, counts);
}

// "3 h 05 min left", counted down by tick() in every [data-expires].
export function timeLeft(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((Date.parse(iso) - now) / 1000));
  if (!seconds) return gettext("expired");
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  const time = h
    ? interpolate(gettext("%(h)s h %(m)s min"), { h: number(h), m })
    : interpolate(gettext("%(m)s min %(s)s s"), { m, s });
  return interpolate(gettext("%(time)s left"), { time });
}

export const expiresHtml = (a) =>
  `<span data-expires="${esc(a.expires_at)}">${esc(timeLeft(a.expires_at))}</span>`;

// Repaints every countdown under root; true when one has just run out.
export function tick(root) {
  let ranOut = false;
  for (const el of root.querySelectorAll("[data-expires]")) {
    const text = timeLeft(el.dataset.expires);
    if (text === gettext("expired") && el.textContent !== text) ranOut = true;
    el.textContent = text;
  }
  return ranOut;
}

const OUTCOMES = () => ({
  signed: gettext("Signed: %(progress)s."),
  executed: gettext("Signed: the signatures are complete and the action was executed."),
  approved: gettext("Signed: the signatures are complete; the request is approved."),
  failed: gettext("Signed, but the action was refused when it ran: see the audit log."),
  declined: gettext("Declined: the request is closed."),
});

// The outcome of a signature, as the person who signed reads it.
export function outcomeText(body) {
  const result = body.log?.details?.result || "signed";
  return interpolate(OUTCOMES()[result] || OUTCOMES().signed, { progress: progress(body.approval || {}) });
}

// Spaces alone are no reason: the browser says so before anything is sent.
function requireReason(comment) {
  const check = () => comment.setCustomValidity(comment.value.trim() ? "" : gettext("Say why you decline."));
  comment.addEventListener("input", check);
  check();
}

// Sign (approve) or decline after a confirmation repeating the summary; a
// decline needs a comment. Resolves with the response body, or null.
export async function signDialog(host, me, a, decision) {
  const declining = decision === "decline";
  const intent = new Intent(); // this confirmation and its retries
  const after = { current: number(signers(a).length + 1), required: number(a.required_approvals) };
  const body = await confirmDialog(host, {
    title: declining ? gettext("Decline this request?") : gettext("Sign this request?"),
    text: a.summary,
    fields: `${declining ? "" : `<p class="muted">${esc(interpolate(gettext("Yours would be signature %(current)s of %(required)s."), after))}</p>`}
      <label for="sign-comment">${esc(declining ? gettext("Why do you decline? (required)") : gettext("Comment (optional)"))}</label>
      <textarea id="sign-comment" name="comment" rows="3" maxlength="1000" ${declining ? "required" : ""}></textarea>`,
    confirmLabel: declining ? gettext("Decline") : gettext("Sign"),
    busyLabel: declining ? gettext("Declining…") : gettext("Signing…"),
    danger: declining,
    onConfirm: async ({ comment }) =>
      (await runAction(me, "approve", { decision, comment: comment.trim() }, intent, { approval_id: a.id })).body,
    onOpen: (dialog) => {
      dialog.dataset.approval = a.id;
      dialog.dataset.decision = decision;
      if (declining) requireReason(dialog.querySelector("textarea"));
    },
  });
  if (body) host.dispatchEvent(new CustomEvent(DECIDED_EVENT, { detail: body, bubbles: true, composed: true }));
  return body;
}

// Open the sign dialog of approval `id`: in the page's inbox when there is
// one (it scrolls to it), else in `host`. Resolves with the body, or null.
export async function openApproval(host, me, id, decision = "approve") {
  const event = new CustomEvent(OPEN_EVENT, { detail: { id, decision }, cancelable: true });
  if (!document.dispatchEvent(event)) return null; // an inbox took it
  return signDialog(host, me, await approval(id), decision);
}
