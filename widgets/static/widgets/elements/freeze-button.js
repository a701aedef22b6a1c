// <molam-freeze-button scope="global|<bank id>">: freeze (or unfreeze)
// payouts after a confirmation naming the scope. One Idempotency-Key per
// intent, reused on retry; "waiting for a second signature" on 202; fires
// `success` (200) and `approval-requested` (202).

import { Intent, me, runAction } from "../api.js";
import { confirmDialog, esc, MolamElement } from "../base.js";
import { bankName, gettext, interpolate, number } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";

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
      this.show();
    });
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
    const allowed = Boolean(this.me.actions[action]);
    const label = target.frozen
      ? interpolate(gettext("Unfreeze %(scope)s"), { scope: target.label })
      : interpolate(gettext("Freeze %(scope)s"), { scope: target.label });
    const why = allowed
      ? ""
      : `<p class="muted" id="why">${esc(
          interpolate(gettext("Your roles (%(roles)s) do not allow this: freezing needs pay_admin or finance_ops."), {
            roles: this.me.roles.join(", ") || gettext("none"),
          }),
        )}</p>`;
    const state = target.frozen
      ? `<p><span class="pill red">${esc(gettext("Frozen"))}</span></p>`
      : target.globallyFrozen
        ? `<p><span class="pill red">${esc(gettext("Frozen by the global freeze"))}</span></p>`
        : `<p><span class="pill green">${esc(gettext("Payouts flowing"))}</span></p>`;
    this.setState("ready");
    this.paint(`<section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <p class="muted">${esc(target.name)}</p>
      ${state}
      <button type="button" class="${target.frozen ? "primary" : "danger"} act" ${allowed ? "" : 'disabled aria-describedby="why"'}>${esc(label)}</button>
      ${why}
      <div class="outcome">${this.outcome || ""}</div>
    </section>`);
    if (allowed) this.$(".act").addEventListener("click", () => this.confirm(target, action));
  }

  async confirm(target, action) {
    const intent = new Intent(); // this confirmation and its retries
    const freezing = action === "freeze_payouts";
    const title = freezing
      ? interpolate(gettext("Freeze %(scope)s?"), { scope: target.label })
      : interpolate(gettext("Unfreeze %(scope)s?"), { scope: target.label });
    const text = freezing
      ? this.scope === "global"
        ? gettext("No payout will be dispatched anywhere until the freeze is lifted. A global freeze needs a second signature.")
        : gettext("No payout will be dispatched to this bank until the freeze is lifted.")
      : gettext("Payouts will be dispatched again.");
    const result = await confirmDialog(this, {
      title,
      text,
      fields: `<label for="reason">${esc(gettext("Reason"))}</label>
        <textarea id="reason" name="reason" rows="3" ${freezing ? "required" : ""} maxlength="500"></textarea>`,
      confirmLabel: freezing ? gettext("Freeze") : gettext("Unfreeze"),
      busyLabel: freezing ? gettext("Freezing…") : gettext("Unfreezing…"),
      danger: freezing,
      onConfirm: async ({ reason }) => {
        const response = await runAction(this.me, action, { ...target.body, reason: reason.trim() }, intent);
        return response;
      },
    });
    if (!result) return;
    if (result.status === 202) {
      const approval = result.body.approval || {};
      this.outcome = `<p class="message wait" role="status" data-outcome="waiting">${esc(
        gettext("Waiting for a second signature."),
      )} ${esc(
        interpolate(gettext("%(current)s of %(required)s signatures."), {
          current: number(approval.current_approvals ?? 0),
          required: number(approval.required_approvals ?? 2),
        }),
      )}</p>`;
      this.emit("approval-requested", result.body);
    } else {
      this.outcome = `<p class="message ok" role="status" data-outcome="done">${esc(
        freezing
          ? interpolate(gettext("Frozen: %(scope)s."), { scope: target.label })
          : interpolate(gettext("Unfrozen: %(scope)s."), { scope: target.label }),
      )}</p>`;
      this.emit("success", result.body);
    }
    this.show();
    requestRefresh();
  }
}

customElements.define("molam-freeze-button", MolamFreezeButton);
