// <molam-suggestions>: SIRA's suggestions as a floating badge with the open
// count (the live summary's, refreshed by the server on beat and when a
// bank's health changes); it expands into a panel, as tall as its content,
// with each suggestion's confidence. Accept opens a confirmation naming the
// action and its target before running it; decline asks for a reason.

import { get, Intent, me, runAction } from "../api.js";
import { confirmDialog, errorText, esc, MolamElement } from "../base.js";
import { bankName, gettext, interpolate, number, percent } from "../i18n.js";
import { subscribe } from "../live.js";

const ACTIONS = () => ({
  freeze_payouts: gettext("Freeze payouts"),
  unfreeze_payouts: gettext("Unfreeze payouts"),
  pause_bank: gettext("Pause the bank"),
  resume_bank: gettext("Resume the bank"),
  retry_failed_payouts: gettext("Retry failed payouts"),
  generate_plan: gettext("Generate a plan"),
});
const PLAN_TYPES = () => ({
  routing_optimization: gettext("Routing optimization"),
  float_rebalance: gettext("Float rebalance"),
  risk_mitigation: gettext("Risk mitigation"),
});

class MolamSuggestions extends MolamElement {
  async start() {
    try {
      this.me = await me();
    } catch (err) {
      this.failed(gettext("Suggestions"), err, () => this.start());
      return;
    }
    this.open = false;
    this.shadowRoot.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.open) {
        this.open = false;
        this.show();
        this.$(".badge").focus();
      }
    });
    this.unsubscribe = subscribe(({ summary }) => {
      if (!summary) return;
      this.banks = summary.banks || [];
      const changed = JSON.stringify(summary.suggestions) !== JSON.stringify(this.suggestions);
      this.suggestions = summary.suggestions;
      if (changed && !this.deciding) this.show();
    });
  }

  // The badge's count, without repainting the open panel.
  setCount(count) {
    this.suggestions = { ...this.suggestions, open: count };
    this.$(".count").textContent = number(count);
    this.$(".badge .visually-hidden").textContent = `: ${interpolate(gettext("SIRA suggestions: %(count)s open"), { count: number(count) })}`;
  }

  // What accepting runs, in words: the action and its target.
  target(action) {
    const payload = action?.payload || {};
    const bankId = payload.bank_profile_id;
    if (bankId) {
      const bank = this.banks.find((b) => String(b.id) === String(bankId));
      return bank ? bankName(bank) : String(bankId);
    }
    if (action?.action_type === "generate_plan") {
      const type = payload.plan_params?.type;
      return PLAN_TYPES()[type] || type || "";
    }
    if (payload.scope === "global") return gettext("all payouts");
    return payload.currency || "";
  }

  show(message = "") {
    const count = this.suggestions.open;
    const label = interpolate(gettext("SIRA suggestions: %(count)s open"), { count: number(count) });
    this.setState(this.suggestions.available ? "ready" : "empty");
    this.paint(`<style>
        :host { position: fixed; right: 1.5rem; bottom: 1.5rem; z-index: 20; display: block; }
        .badge { border-radius: 999px; padding: 0.7rem 1.1rem; font-weight: 600; background: #1d4ed8;
          color: #ffffff; border-color: #1d4ed8; box-shadow: 0 6px 20px rgb(0 0 0 / 0.2); }
        /* as tall as its content: the shared .card fills its grid cell, and
           this host is only as tall as the badge (the adopted sheet comes
           after this one, hence .card.panel) */
        .card.panel { position: absolute; right: 0; bottom: 3.75rem; width: min(24rem, 90vw); height: auto; max-height: 70vh; overflow: auto;
          box-shadow: 0 12px 30px rgb(0 0 0 / 0.25); }
        .proposed { font-size: 0.9rem; }
        .count { background: #ffffff; color: #1d4ed8; border-radius: 999px; padding: 0 0.5rem; margin-left: 0.4rem; }
      </style>
      <button type="button" class="badge" aria-expanded="${this.open}" aria-controls="panel">
        ${esc(gettext("SIRA"))}<span class="visually-hidden">: ${esc(label)}</span><span class="count" aria-hidden="true">${this.suggestions.available ? esc(number(count)) : "–"}</span>
      </button>
      <section id="panel" class="card panel" aria-label="${esc(gettext("Suggestions"))}" ${this.open ? "" : "hidden"}>
        <h2>${esc(gettext("Suggestions"))}</h2>
        <div class="list">${this.suggestions.available ? `<p role="status">${esc(gettext("Loading…"))}</p>` : `<p class="message info" role="status">${esc(gettext("Suggestions are not available on this server yet."))}</p>`}</div>
        ${message}
      </section>`);
    this.$(".badge").addEventListener("click", () => {
      this.open = !this.open;
      this.show();
    });
    if (this.open && this.suggestions.available) this.load();
  }

  async load() {
    const list = this.$(".list");
    let items;
    try {
      const body = (await get("/api/ops/suggestions?status=open")).body;
      items = body.results;
      this.setCount(body.count ?? items.length); // the list is newer than the summary
    } catch (err) {
      list.innerHTML = `<p class="message error" role="alert">${esc(errorText(err))}</p>`;
      return;
    }
    if (!items.length) {
      list.innerHTML = `<p class="muted">${esc(gettext("No open suggestion."))}</p>`;
      return;
    }
    list.innerHTML = `<ul class="plain">${items
      .map(
        (s) => `<li style="margin-bottom:1rem" data-id="${esc(s.id)}">
          <h3>${esc(s.title)}</h3>
          <p class="muted">${esc(s.description || "")}</p>
          <p class="proposed" data-field="proposed">${esc(interpolate(gettext("Proposes: %(action)s — %(target)s"), { action: ACTIONS()[s.action?.action_type] || s.action?.action_type || "", target: this.target(s.action) }))}</p>
          <p>${esc(interpolate(gettext("Confidence %(value)s"), { value: percent(s.confidence ?? 0) }))}</p>
          <div class="row">
            <button type="button" class="primary accept" ${this.me.actions.accept_suggestion ? "" : "disabled"}>${esc(gettext("Accept"))}</button>
            <button type="button" class="decline" ${this.me.actions.decline_suggestion ? "" : "disabled"}>${esc(gettext("Decline"))}</button>
          </div></li>`,
      )
      .join("")}</ul>`;
    const byId = new Map(items.map((s) => [String(s.id), s]));
    for (const item of list.querySelectorAll("li[data-id]")) {
      const suggestion = byId.get(item.dataset.id);
      item.querySelector(".accept").addEventListener("click", () => this.decide(item, suggestion, "accept_suggestion"));
      item.querySelector(".decline").addEventListener("click", () => this.decide(item, suggestion, "decline_suggestion"));
    }
  }

  // Accept: a confirmation that names the action and its target; decline:
  // a reason, required, sent with the decision.
  async decide(item, suggestion, action) {
    const accepting = action === "accept_suggestion";
    const what = ACTIONS()[suggestion.action?.action_type] || suggestion.action?.action_type || "";
    const target = this.target(suggestion.action);
    const intent = new Intent();
    this.deciding = true;
    try {
      const result = await confirmDialog(this, {
        title: accepting ? gettext("Accept this suggestion?") : gettext("Decline this suggestion?"),
        text: accepting
          ? interpolate(gettext("This runs “%(action)s” on %(target)s, as you."), { action: what, target })
          : suggestion.title,
        fields: accepting
          ? `<dl data-field="run"><dt>${esc(gettext("Action"))}</dt><dd data-field="action">${esc(what)}</dd>
              <dt>${esc(gettext("Target"))}</dt><dd data-field="target">${esc(target)}</dd></dl>`
          : `<label for="decline-reason">${esc(gettext("Why decline it? (required)"))}</label>
              <textarea id="decline-reason" name="reason" required maxlength="500" rows="3"></textarea>`,
        confirmLabel: accepting ? gettext("Accept") : gettext("Decline"),
        danger: accepting && ["freeze_payouts", "pause_bank"].includes(suggestion.action?.action_type),
        onOpen: (dialog) => {
          // spaces are no reason: the form will not send them
          const reason = dialog.querySelector("textarea");
          if (!reason) return;
          const check = () => reason.setCustomValidity(reason.value.trim() ? "" : gettext("Say why you decline."));
          reason.addEventListener("input", check);
          check();
          reason.focus();
        },
        onConfirm: (values) =>
          runAction(this.me, action, accepting ? {} : { reason: values.reason.trim() }, intent, { suggestion_id: suggestion.id }),
      });
      if (!result) return;
      item.remove();
      this.setCount(Math.max(0, (this.suggestions.open || 0) - 1));
      this.emit("success", { action, suggestion_id: suggestion.id });
    } finally {
      this.deciding = false;
    }
  }
}

customElements.define("molam-suggestions", MolamSuggestions);
