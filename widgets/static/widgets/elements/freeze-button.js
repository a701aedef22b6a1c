// <molam-freeze-button scope="global|<bank id>">: freeze (or unfreeze)
// payouts after a confirmation naming the scope. One Idempotency-Key per
// intent, reused on retry; fires `success` (200) and `approval-requested`
// (202). A global freeze needs signatures: the card says how many, shows the
// request waiting for them (read again whenever the live summary's approvals
// revision moves, so across reloads too) and offers no second one meanwhile.
// Its confirmation dialog stays open while live frames arrive.

import { Intent, me, runAction } from "../api.js";
import { confirmDialog, errorText, esc, MolamElement } from "../base.js";
import { bankName, gettext, interpolate, ngettext, number } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";
import { approval, expiresHtml, openApproval, outcomeText, pending, pendingId, progress, tick } from "../signing.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class MolamFreezeButton extends MolamElement {
  get scope() {
    return (this.getAttribute("scope") || "global").trim();
  }

  async start() {
    this.outcome = null;
    if (this.scope !== "global" && !UUID.test(this.scope)) {
      this.badScope();
      return;
    }
    try {
      this.me = await me();
    } catch (err) {
      this.failed(gettext("Freeze payouts"), err, () => this.start());
      return;
    }
    this.unsubscribe = subscribe((state) => {
      this.state = state;
      const revision = state.summary?.approvals?.revision ?? "";
      if (this.scope === "global" && revision !== this.revision) {
        this.revision = revision;
        this.loadPending();
      }
      this.show();
    });
    this.timer = setInterval(() => tick(this.shadowRoot) && this.loadPending(), 1000);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.timer);
  }

  // Back online: the waiting request again, if its last read failed.
  back() {
    if (this.pendingFailed) this.loadPending();
  }

  // The global freeze waiting for signatures, if any; one read at a time.
  async loadPending() {
    if (this.loadingPending) {
      this.readAgain = true;
      return;
    }
    this.loadingPending = true;
    try {
      const open = await pending({ action_type: "freeze_payouts" });
      this.pendingFailed = false;
      const waiting = open.find((a) => a.target?.scope === "global") || null;
      // what was said about the previous request no longer applies
      if (waiting?.id !== this.pending?.id) this.outcome = "";
      this.pending = waiting;
    } catch (err) {
      // what was shown stays; the next revision (or back()) reads again
      this.pendingFailed = true;
    } finally {
      this.loadingPending = false;
    }
    if (this.readAgain) {
      this.readAgain = false;
      this.loadPending();
    }
    this.show();
  }

  get signaturesNeeded() {
    return this.me.approval_rules?.freeze_global ?? 2;
  }

  badScope() {
    this.invalid(
      gettext("Freeze payouts"),
      interpolate(gettext("Unknown scope “%(scope)s”: use “global” or the id of a bank."), {
        scope: this.scope,
      }),
    );
  }

  // {label, frozen, body}: what this button acts on, as of the summary.
  target(summary) {
    if (this.scope === "global") {
      return {
        label: gettext("all payouts"),
        name: gettext("All banks"),
        frozen: summary.freezes.global,
        body: { scope: "global" },
      };
    }
    const bank = summary.banks.find((b) => b.id === this.scope.toLowerCase());
    if (!bank) return null;
    const name = bankName(bank);
    return {
      label: interpolate(gettext("payouts to %(bank)s"), { bank: name }),
      name,
      frozen: bank.frozen && bank.freeze_scope === "bank",
      globallyFrozen: bank.freeze_scope === "global",
      body: { scope: { bank_profile_id: bank.id } },
    };
  }

  show() {
    // a repaint would destroy the open dialog: the card catches up after it
    if (this.confirming || !this.state) return;
    const { summary, error } = this.state;
    const title = gettext("Freeze payouts");
    if (!summary) {
      if (error) this.failed(title, error, () => requestRefresh());
      return;
    }
    const target = this.target(summary);
    if (!target) {
      this.badScope();
      return;
    }
    const action = target.frozen ? "unfreeze_payouts" : "freeze_payouts";
    const waiting = target.frozen ? null : this.pending;
    const allowed = Boolean(this.me.actions[action]) && !waiting;
    const label = target.frozen
      ? interpolate(gettext("Unfreeze %(scope)s"), { scope: target.label })
      : interpolate(gettext("Freeze %(scope)s"), { scope: target.label });
    this.setState("ready");
    this.paint(`<section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <p class="muted">${esc(target.name)}</p>
      ${this.stateHtml(target, waiting)}
      <div class="row">
        <button type="button" class="${target.frozen ? "primary" : "danger"} act" ${allowed ? "" : 'disabled aria-describedby="why"'}>${esc(label)}</button>
        ${waiting?.can_sign ? `<button type="button" class="review">${esc(gettext("Review and sign"))}</button>` : ""}
      </div>
      ${this.whyHtml(action, waiting)}
      <div class="outcome">${this.outcome || ""}</div>
    </section>`);
    if (allowed) this.$(".act").addEventListener("click", () => this.confirm(target, action));
    this.$(".review")?.addEventListener("click", () => this.review(waiting));
  }

  stateHtml(target, waiting) {
    if (target.frozen) return `<p><span class="pill red">${esc(gettext("Frozen"))}</span></p>`;
    if (target.globallyFrozen) return `<p><span class="pill red">${esc(gettext("Frozen by the global freeze"))}</span></p>`;
    const flowing = `<p><span class="pill green">${esc(gettext("Payouts flowing"))}</span></p>`;
    if (!waiting) return flowing;
    return `${flowing}<p class="message wait" role="status" data-outcome="waiting" data-approval="${esc(waiting.id)}">${esc(
      interpolate(gettext("Waiting: %(progress)s"), { progress: progress(waiting) }),
    )} · ${expiresHtml(waiting)}</p>`;
  }

  // Why the button is disabled, or what it will take.
  whyHtml(action, waiting) {
    let text = "";
    if (!this.me.actions[action]) {
      text = interpolate(gettext("Your roles (%(roles)s) do not allow this: freezing needs pay_admin or finance_ops."), {
        roles: this.me.roles.join(", ") || gettext("none"),
      });
    } else if (waiting) {
      text = waiting.initiator_id === this.me.id
        ? gettext("You have asked for this freeze: it takes effect once signed, and no second request is needed.")
        : interpolate(gettext("%(name)s has asked for this freeze: it takes effect once signed, and no second request is needed."), {
            name: waiting.initiator_id,
          });
    } else if (action === "freeze_payouts" && this.scope === "global") {
      return `<p class="muted" data-field="needed">${esc(this.neededText())}</p>`;
    }
    return text ? `<p class="muted" id="why">${esc(text)}</p>` : "";
  }

  neededText() {
    const count = this.signaturesNeeded;
    return interpolate(
      ngettext(
        "A global freeze takes effect once %(count)s other person has signed it.",
        "A global freeze takes effect once %(count)s other people have signed it.",
        count,
      ),
      { count: number(count) },
    );
  }

  async confirm(target, action) {
    await this.whileOpen(async () => {
      const result = await this.ask(target, action);
      if (result) this.report(target, action, result);
    });
  }

  // The inbox's sign dialog (or, on a page without an inbox, the same dialog here).
  async review(waiting) {
    await this.whileOpen(async () => {
      const body = await openApproval(this, this.me, waiting.id);
      if (body) this.outcome = `<p class="message ok" role="status" data-outcome="signed">${esc(outcomeText(body))}</p>`;
    });
  }

  // Runs a dialog: no second one meanwhile, no repaint under it.
  async whileOpen(run) {
    if (this.confirming) return; // a second click while the dialog opens
    this.confirming = true;
    try {
      await run();
    } catch (err) {
      this.outcome = `<p class="message error" role="alert">${esc(errorText(err))}</p>`;
    } finally {
      this.confirming = false;
    }
    this.show();
    requestRefresh();
  }

  ask(target, action) {
    const intent = new Intent(); // this confirmation and its retries
    const freezing = action === "freeze_payouts";
    const title = freezing
      ? interpolate(gettext("Freeze %(scope)s?"), { scope: target.label })
      : interpolate(gettext("Unfreeze %(scope)s?"), { scope: target.label });
    const text = freezing
      ? this.scope === "global"
        ? `${gettext("No payout will be dispatched anywhere until the freeze is lifted.")} ${this.neededText()}`
        : gettext("No payout will be dispatched to this bank until the freeze is lifted.")
      : gettext("Payouts will be dispatched again.");
    return confirmDialog(this, {
      title,
      text,
      fields: `<label for="reason">${esc(gettext("Reason"))}</label>
        <textarea id="reason" name="reason" rows="3" ${freezing ? "required" : ""} maxlength="500"></textarea>`,
      confirmLabel: freezing ? gettext("Freeze") : gettext("Unfreeze"),
      busyLabel: freezing ? gettext("Freezing…") : gettext("Unfreezing…"),
      danger: freezing,
      onConfirm: async ({ reason }) => {
        try {
          return await runAction(this.me, action, { ...target.body, reason: reason.trim() }, intent);
        } catch (err) {
          // asked for already (by someone else, or in another tab): that one
          const id = pendingId(err);
          if (!id) throw err;
          return { status: 409, waitingFor: await approval(id) };
        }
      },
    });
  }

  report(target, action, result) {
    if (result.waitingFor) {
      this.pending = result.waitingFor;
      this.outcome = `<p class="message info" role="status" data-outcome="already-asked">${esc(
        gettext("This freeze had already been asked for: it is the request shown above."),
      )}</p>`;
    } else if (result.status === 202) {
      // the global request shows as waiting above; another, here
      if (this.scope === "global") this.pending = result.body.approval || null;
      this.outcome = this.scope === "global" ? "" : `<p class="message wait" role="status" data-outcome="waiting">${esc(
        interpolate(gettext("Waiting: %(progress)s"), { progress: progress(result.body.approval || {}) }),
      )}</p>`;
      this.emit("approval-requested", result.body);
    } else {
      this.outcome = `<p class="message ok" role="status" data-outcome="done">${esc(
        action === "freeze_payouts"
          ? interpolate(gettext("Frozen: %(scope)s."), { scope: target.label })
          : interpolate(gettext("Unfrozen: %(scope)s."), { scope: target.label }),
      )}</p>`;
      this.emit("success", result.body);
    }
  }
}

customElements.define("molam-freeze-button", MolamFreezeButton);
