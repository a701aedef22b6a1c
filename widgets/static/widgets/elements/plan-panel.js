// <molam-plan-panel plan-type="float_rebalance">: the parameters (plan type,
// preselected by the attribute; time frame; the main constraints), progress
// while SIRA (or the local planner) generates, a preview with steps (bank
// names) and what changes per bank (plan-view.js), approve and execute when
// allowed (never execute on a plan with no step), live step progress with
// the payouts each step moved; fires `plan-generated`. Shows an honest empty state while the server has no
// plans API. With plan-id="<uuid>" it opens that plan (a second operator
// signing it, say). A plan waiting for signatures is re-read whenever the
// live summary changes, so its execute button appears once it is approved.
// Its approve button opens the approvals inbox's sign dialog (signing.js).

import { get, Intent, me, runAction } from "../api.js";
import { confirmDialog, errorText, esc, MolamElement } from "../base.js";
import { gettext, interpolate, moneyCode, number } from "../i18n.js";
import { subscribe } from "../live.js";
import { bankNames, previewTable, stepsTable, unmetList } from "../plan-view.js";
import { DECIDED_EVENT, openApproval } from "../signing.js";

const TYPES = () => ({
  routing_optimization: gettext("Routing optimization"),
  float_rebalance: gettext("Float rebalance"),
  risk_mitigation: gettext("Risk mitigation"),
});
const STATUSES = () => ({
  generating: gettext("generating"),
  pending: gettext("pending"),
  approved: gettext("approved"),
  executing: gettext("executing"),
  executed: gettext("executed"),
  failed: gettext("failed"),
  rejected: gettext("rejected"),
  cancelled: gettext("cancelled"),
  running: gettext("running"),
  blocked: gettext("blocked"),
  done: gettext("done"),
});
const statusText = (status) => STATUSES()[status] || status || "";
const MOVING = new Set(["generating", "executing"]);

class MolamPlanPanel extends MolamElement {
  get planType() {
    return (this.getAttribute("plan-type") || "float_rebalance").trim();
  }

  get planId() {
    return (this.getAttribute("plan-id") || "").trim();
  }

  async start() {
    const title = gettext("Operational plan");
    if (!TYPES()[this.planType]) {
      this.invalid(
        title,
        interpolate(gettext("Unknown plan type “%(type)s”: use routing_optimization, float_rebalance or risk_mitigation."), {
          type: this.planType,
        }),
      );
      return;
    }
    try {
      this.me = await me();
    } catch (err) {
      this.failed(title, err, () => this.start());
      return;
    }
    if (!this.me.available_actions.includes("generate_plan")) {
      this.setState("empty");
      this.paint(`<section class="card" aria-label="${esc(title)}"><h2>${esc(title)}</h2>
        <p class="message info" role="status">${esc(gettext("Plans are not available on this server yet."))}</p></section>`);
      return;
    }
    this.onDecided = (event) => {
      // signed in the inbox: the plan as it is now, without waiting for a frame
      if (this.plan && event.detail.approval?.id === this.plan.approval?.id) this.reload();
    };
    document.addEventListener(DECIDED_EVENT, this.onDecided);
    this.unsubscribe = subscribe(({ summary }) => {
      if (!summary) return;
      const first = !this.summary;
      this.summary = summary;
      if (first) {
        this.showForm();
        if (this.planId) this.open(this.planId);
      } else if (this.waitingForSignatures()) {
        this.reload();
      }
    });
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    if (this.onDecided) document.removeEventListener(DECIDED_EVENT, this.onDecided);
  }

  waitingForSignatures() {
    const plan = this.plan;
    return Boolean(plan && !this.following && plan.status === "pending" && plan.approval?.status === "pending");
  }

  async open(id) {
    try {
      await this.follow((await get(`/api/ops/plans/${encodeURIComponent(id)}`)).body.plan, false);
    } catch (err) {
      this.$(".plan").innerHTML = `<p class="message error" role="alert">${esc(errorText(err))}</p>`;
    }
  }

  // Another operator signed (the summary's pending approvals moved): the
  // plan as it is now, at most one read at a time.
  async reload() {
    if (this.reloading) return;
    this.reloading = true;
    try {
      this.preview((await get(`/api/ops/plans/${this.plan.id}`)).body.plan);
    } catch (err) {
      // the next summary retries; the preview shown stays true to its time
    } finally {
      this.reloading = false;
    }
  }

  showForm() {
    const title = gettext("Operational plan");
    const allowed = Boolean(this.me.actions.generate_plan);
    const types = Object.entries(TYPES())
      .map(([value, label]) => `<option value="${value}" ${value === this.planType ? "selected" : ""}>${esc(label)}</option>`)
      .join("");
    const percentField = (name, label, hint) => `<div><label for="${name}">${esc(label)}</label>
        <input id="${name}" name="${name}" type="number" inputmode="decimal" min="${name === "max_bank_share" ? 1 : 0}" max="100" step="0.1" aria-describedby="${name}-hint">
        <p class="muted" id="${name}-hint">${esc(hint)}</p></div>`;
    this.plan = null; // the form again: no plan shown to keep up to date
    this.setState("ready");
    this.paint(`<style>
        .params .fields { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0 1rem; }
        .params .muted { margin: 0.2rem 0 0; }
        .scroll { overflow-x: auto; }
        h4 { margin: 1rem 0 0.5rem; font-size: 0.95rem; }
        .plan ul { margin: 0.25rem 0 0; }
      </style>
      <section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <form class="params" novalidate>
        <div class="fields">
          <div><label for="plan-type">${esc(gettext("Plan type"))}</label>
            <select id="plan-type" name="type">${types}</select></div>
          <div><label for="timeframe">${esc(gettext("Time frame"))}</label>
            <select id="timeframe" name="timeframe">
              <option value="24">${esc(gettext("24 hours"))}</option>
              <option value="72">${esc(gettext("3 days"))}</option>
              <option value="168">${esc(gettext("7 days"))}</option>
            </select></div>
          ${percentField("min_success_rate", gettext("Minimum success rate (%)"), gettext("Empty: the health threshold."))}
          ${percentField("max_bank_share", gettext("Maximum share of one bank (%)"), gettext("Empty: the planner's default."))}
          <div><label for="max_cost">${esc(gettext("Maximum fees (USD)"))}</label>
            <input id="max_cost" name="max_cost" type="number" inputmode="decimal" min="0" step="0.01" aria-describedby="max_cost-hint">
            <p class="muted" id="max_cost-hint">${esc(gettext("Empty: no limit."))}</p></div>
        </div>
        <div class="actions">
          <button type="submit" class="primary" ${allowed ? "" : 'disabled aria-describedby="plan-why"'}>${esc(gettext("Generate the plan"))}</button>
        </div>
        ${allowed ? "" : `<p class="muted" id="plan-why">${esc(gettext("Generating plans needs the pay_admin or ops role."))}</p>`}
        <p class="message error form-error" role="alert" hidden></p>
      </form>
      <div class="plan" aria-live="polite"></div>
    </section>`);
    this.$("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.generate(Object.fromEntries(new FormData(event.target).entries()));
    });
  }

  // The form's values as plan_params: percentages as fractions, empty
  // constraints left out (the server's safe defaults apply).
  params(values) {
    const constraints = {};
    const fraction = (value) => String(Number(value) / 100);
    if (values.min_success_rate) constraints.min_success_rate = fraction(values.min_success_rate);
    if (values.max_bank_share) constraints.max_bank_share = fraction(values.max_bank_share);
    if (values.max_cost) constraints.max_cost = String(values.max_cost);
    return { type: values.type || this.planType, timeframe: Number(values.timeframe), constraints };
  }

  async generate(values) {
    const params = this.params(values);
    const intent = this.intent || (this.intent = new Intent());
    const button = this.$("form button[type=submit]");
    const alert = this.$(".form-error");
    button.disabled = true;
    alert.hidden = true;
    this.$(".plan").innerHTML = `<p role="status">${esc(gettext("Generating the plan…"))}</p>
      <progress aria-label="${esc(gettext("Generating the plan…"))}"></progress>`;
    try {
      const response = await runAction(this.me, "generate_plan", { plan_params: params }, intent);
      this.intent = null;
      await this.follow(response.body.plan, true);
    } catch (err) {
      // the same intent (key) if the operator retries
      this.$(".plan").innerHTML = "";
      alert.textContent = errorText(err);
      alert.hidden = false;
    } finally {
      button.disabled = false; // another plan, with other parameters
    }
  }

  async follow(plan, announce) {
    this.following = true;
    try {
      for (let i = 0; i < 120 && MOVING.has(plan.status); i++) {
        this.preview(plan);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        plan = (await get(`/api/ops/plans/${plan.id}`)).body.plan;
      }
    } finally {
      this.following = false;
    }
    this.preview(plan);
    if (announce) this.emit("plan-generated", plan);
  }

  preview(plan) {
    this.plan = plan;
    this.dataset.plan = plan.status; // for pages (and tests) following along
    const currency = plan.currency || this.summary.treasury[0]?.currency || "USD";
    const details = plan.details || {};
    const names = bankNames(this.summary);
    const steps = stepsTable(plan, names, currency);
    const empty = !(plan.steps || []).length;
    const approval = plan.approval || {};
    const signed = (approval.approvers || []).some((a) => a.signer_id === this.me.id);
    const canApprove =
      !empty && approval.status === "pending" && this.me.actions.approve && approval.initiator_id !== this.me.id && !signed;
    // an empty plan has nothing to run: no execute button
    const canExecute =
      !empty && this.me.actions.execute_plan && (plan.status === "approved" || (plan.status === "pending" && !plan.approval_required));
    const started = ["executing", "executed", "failed", "cancelled"].includes(plan.status) && details.total;
    this.$(".plan").innerHTML = `<h3 data-field="summary">${esc(plan.summary || gettext("Plan"))}</h3>
      <p class="muted"><span data-field="type">${esc(TYPES()[plan.plan_type] || plan.plan_type)}</span> ·
        <span data-field="status">${esc(interpolate(gettext("Status: %(status)s"), { status: statusText(plan.status) }))}</span></p>
      ${MOVING.has(plan.status) ? `<progress aria-label="${esc(gettext("In progress"))}" ${started ? `max="${details.total}" value="${details.done || 0}"` : ""}></progress>` : ""}
      ${started ? `<p data-field="progress">${esc(interpolate(gettext("%(done)s of %(total)s steps done"), { done: number(details.done || 0), total: number(details.total) }))}</p>` : ""}
      ${empty && !MOVING.has(plan.status) ? `<p class="message info" role="status" data-field="empty">${esc(gettext("Nothing to do: this plan has no step."))}</p>` : ""}
      ${unmetList(details)}
      <dl><dt>${esc(gettext("Total"))}</dt><dd data-field="total">${esc(moneyCode(plan.total_amount || 0, currency))}</dd>
        <dt>${esc(gettext("Payouts"))}</dt><dd data-field="payouts">${esc(number(plan.payout_count || 0))}</dd>
        ${approval.id ? `<dt>${esc(gettext("Signatures"))}</dt><dd data-field="signatures">${esc(interpolate(gettext("%(current)s of %(required)s"), { current: number(approval.current_approvals || 0), required: number(approval.required_approvals || 0) }))}</dd>` : ""}</dl>
      ${approval.status === "pending" && approval.initiator_id === this.me.id ? `<p class="message wait" role="status">${esc(gettext("Waiting for other approvers to sign this plan."))}</p>` : ""}
      ${previewTable(details.preview)}
      ${steps}
      <div class="actions">
        ${canApprove ? `<button type="button" class="approve">${esc(gettext("Approve"))}</button>` : ""}
        ${canExecute ? `<button type="button" class="primary execute">${esc(gettext("Execute"))}</button>` : ""}
      </div>`;
    this.$(".approve")?.addEventListener("click", () => this.decide(approval));
    this.$(".execute")?.addEventListener("click", () => this.execute(plan));
  }

  async decide(approval) {
    try {
      await openApproval(this, this.me, approval.id);
    } catch (err) {
      this.$(".plan").insertAdjacentHTML("beforeend", `<p class="message error" role="alert">${esc(errorText(err))}</p>`);
    }
  }

  async execute(plan) {
    const intent = new Intent();
    const token = plan.approval?.approval_token;
    const result = await confirmDialog(this, {
      title: gettext("Execute this plan?"),
      text: interpolate(gettext("%(count)s payouts, %(total)s."), {
        count: number(plan.payout_count || 0),
        total: moneyCode(plan.total_amount || 0, plan.currency || "USD"),
      }),
      confirmLabel: gettext("Execute"),
      danger: true,
      onConfirm: () => runAction(this.me, "execute_plan", token ? { plan_id: plan.id, approval_token: token } : { plan_id: plan.id }, intent),
    });
    if (result) this.follow(result.body.plan || { ...plan, status: "executing" }, false);
  }
}

customElements.define("molam-plan-panel", MolamPlanPanel);
