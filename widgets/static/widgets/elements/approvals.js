// <molam-approvals>: the approvals inbox. The multi-signature requests the
// signed-in person may sign, each with its summary, the signatures so far and
// the time left, signed or declined after a confirmation; then the person's
// own requests and how far they got. Reloaded whenever the live summary's
// approvals revision moves (an open dialog stays open); /?approval=<id> (the
// link of the approvers' mail) opens that request's dialog, and so does the
// "molam-approval-open" event other widgets send (signing.js).

import { me } from "../api.js";
import { errorText, esc, MolamElement } from "../base.js";
import { dateTime, gettext, interpolate, pgettext } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";
import {
  approval, expiresHtml, mine, OPEN_EVENT, outcomeText, pending, progress, signable, signDialog, tick,
} from "../signing.js";

const DAY = 86400000;
const OPEN = new Set(["pending", "approved"]); // approved: a plan's token not used yet
const STATUSES = () => ({
  pending: pgettext("approval status", "pending"),
  approved: pgettext("approval status", "approved"),
  executed: pgettext("approval status", "executed"),
  declined: pgettext("approval status", "declined"),
  expired: pgettext("approval status", "expired"),
  failed: pgettext("approval status", "failed"),
  cancelled: pgettext("approval status", "cancelled"),
});
const PILLS = { pending: "yellow", approved: "green", executed: "green", declined: "red", failed: "red" };

class MolamApprovals extends MolamElement {
  async start() {
    try {
      this.me = await me();
    } catch (err) {
      this.failed(gettext("Approvals"), err, () => this.start());
      return;
    }
    this.canSign = Boolean(this.me.actions.approve);
    this.onOpen = (event) => {
      event.preventDefault(); // taken: the sender opens no dialog of its own
      this.open(event.detail.id, event.detail.decision);
    };
    document.addEventListener(OPEN_EVENT, this.onOpen);
    this.timer = setInterval(() => tick(this.shadowRoot) && this.load(), 1000);
    this.loaded = new Promise((resolve) => (this.whenLoaded = resolve));
    this.unsubscribe = subscribe(({ summary }) => {
      const revision = summary?.approvals?.revision ?? "";
      if (this.revision === undefined || revision !== this.revision) {
        this.revision = revision;
        this.load();
      }
    });
    const linked = new URLSearchParams(window.location.search).get("approval");
    if (linked) {
      const url = new URL(window.location.href);
      url.searchParams.delete("approval"); // a reload does not ask again
      window.history.replaceState(window.history.state, "", url);
      this.open(linked, "approve");
    }
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    if (this.onOpen) document.removeEventListener(OPEN_EVENT, this.onOpen);
    clearInterval(this.timer);
  }

  // Back online: the requests again, if their last read failed.
  back() {
    if (this.error && this.toSign) this.load();
  }

  // One read at a time; a change seen meanwhile reads again after it.
  async load() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const [toSign, own] = await Promise.all([this.canSign ? signable() : pending(), mine()]);
      this.toSign = toSign.filter((a) => a.initiator_id !== this.me.id);
      // one's own: those still open, and those that ended in the last day
      this.own = own.filter((a) => OPEN.has(a.status) || Date.now() - Date.parse(a.decided_at || a.expires_at) < DAY);
      this.error = null;
    } catch (err) {
      this.error = err;
    } finally {
      this.loading = false;
    }
    this.render();
    if (this.again) {
      this.again = false;
      this.load();
    }
  }

  render() {
    const title = gettext("Approvals");
    if (this.error && !this.toSign) {
      this.painted = false;
      this.failed(title, this.error, () => this.load());
      return;
    }
    if (!this.painted) this.paintCard(title);
    this.$(".load-error").innerHTML = this.error
      ? `<p class="message error" role="alert">${esc(gettext("Could not refresh the requests."))} ${esc(errorText(this.error))}</p>`
      : "";
    this.$(".to-sign").innerHTML = this.toSignHtml();
    this.$(".mine").innerHTML = this.ownHtml();
    for (const button of this.shadowRoot.querySelectorAll(".to-sign button:not([disabled])")) {
      const a = this.toSign.find((x) => x.id === button.closest("[data-approval]").dataset.approval);
      button.addEventListener("click", () => this.sign(a, button.dataset.decision));
    }
    this.setState(this.toSign.length || this.own.length ? "ready" : "empty");
    this.whenLoaded();
  }

  paintCard(title) {
    this.painted = true;
    const why = this.canSign
      ? ""
      : `<p class="message info" id="sign-why">${esc(
          interpolate(gettext("You can follow these requests but not sign them: signing needs the pay_admin or finance_ops role (yours: %(roles)s)."), {
            roles: this.me.roles.join(", ") || gettext("none"),
          }),
        )}</p>`;
    this.paint(`<style>
        .item { padding: 0.75rem 0; border-bottom: 1px solid var(--molam-border, #d1d5db); }
        .item:last-child { border-bottom: 0; } .item p { margin: 0 0 0.4rem; }
        h3 { margin-top: 1rem; font-size: 1rem; }
      </style>
      <section class="card" aria-labelledby="approvals-title">
      <h2 id="approvals-title">${esc(title)}</h2>
      ${why}
      <div class="load-error"></div>
      <div class="notice" aria-live="polite"></div>
      <h3>${esc(this.canSign ? gettext("To sign") : gettext("Waiting for signatures"))}</h3>
      <div class="to-sign"></div>
      <h3>${esc(gettext("Your requests"))}</h3>
      <div class="mine"></div>
    </section>`);
  }

  notice(kind, text) {
    if (!this.painted) return;
    this.$(".notice").innerHTML = `<p class="message ${kind}" role="${kind === "error" ? "alert" : "status"}">${esc(text)}</p>`;
  }

  toSignHtml() {
    if (!this.toSign.length) {
      const text = this.canSign ? gettext("Nothing waits for your signature.") : gettext("No request is waiting for signatures.");
      return `<p class="muted" data-empty="to-sign">${esc(text)}</p>`;
    }
    const disabled = this.canSign ? "" : " disabled";
    const items = this.toSign.map((a) => {
      const described = `sum-${esc(a.id)}${this.canSign ? "" : " sign-why"}`;
      return `<li class="item" data-approval="${esc(a.id)}">
        <p id="sum-${esc(a.id)}">${esc(a.summary)}</p>
        <p class="muted"><span data-field="signatures">${esc(progress(a))}</span> · ${expiresHtml(a)}</p>
        <div class="row">
          <button type="button" class="primary" data-decision="approve" aria-describedby="${described}"${disabled}>${esc(gettext("Sign"))}</button>
          <button type="button" data-decision="decline" aria-describedby="${described}"${disabled}>${esc(gettext("Decline"))}</button>
        </div></li>`;
    });
    return `<ul class="plain">${items.join("")}</ul>`;
  }

  ownHtml() {
    if (!this.own.length) return `<p class="muted" data-empty="mine">${esc(gettext("None in the last 24 hours."))}</p>`;
    const statuses = STATUSES();
    const items = this.own.map((a) => {
      const state = OPEN.has(a.status) ? expiresHtml(a) : esc(closedText(a));
      return `<li class="item" data-approval="${esc(a.id)}" data-status="${esc(a.status)}">
        <p>${esc(a.summary)}</p>
        <p class="muted"><span class="pill ${PILLS[a.status] || "neutral"}">${esc(statuses[a.status] || a.status)}</span>
          <span data-field="signatures">${esc(progress(a))}</span> · ${state}</p></li>`;
    });
    return `<ul class="plain">${items.join("")}</ul>`;
  }

  // The dialog of request `id` (a link, another widget), or why not.
  async open(id, decision = "approve") {
    await this.loaded;
    this.scrollIntoView({ block: "nearest" });
    let a;
    try {
      a = await approval(id);
    } catch (err) {
      this.notice("error", errorText(err));
      return;
    }
    if (a.can_sign) this.sign(a, decision);
    else this.notice("info", `${whyNot(a, this.me, this.canSign)} ${a.summary}`);
  }

  async sign(a, decision) {
    if (this.signing) return; // one dialog at a time
    this.signing = true;
    try {
      const body = await signDialog(this, this.me, a, decision);
      if (body) {
        this.notice("ok", outcomeText(body));
        requestRefresh();
        this.load();
      }
    } finally {
      this.signing = false;
    }
  }
}

// How a request of one's own ended: who declined it and why, or when.
function closedText(a) {
  const decline = (a.approvers || []).find((s) => s.decision === "decline");
  if (decline) {
    return decline.comment
      ? interpolate(gettext("declined by %(name)s: “%(comment)s”"), { name: decline.signer_id, comment: decline.comment })
      : interpolate(gettext("declined by %(name)s"), { name: decline.signer_id });
  }
  return dateTime(a.decided_at || a.expires_at);
}

function whyNot(a, who, canSign) {
  if (!canSign) return gettext("Signing needs the pay_admin or finance_ops role.");
  if (a.initiator_id === who.id) return gettext("You asked for this request: other people sign it.");
  if ((a.approvers || []).some((s) => s.signer_id === who.id)) return gettext("You have already signed this request.");
  return interpolate(gettext("This request can no longer be signed: it is %(status)s."), {
    status: STATUSES()[a.status] || a.status,
  });
}

customElements.define("molam-approvals", MolamApprovals);
