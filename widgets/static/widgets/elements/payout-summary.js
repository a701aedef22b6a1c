// <molam-payout-summary>: pending, sent in 24 h, settled amount, failed; live.

import { esc, MolamElement } from "../base.js";
import { dateTime, gettext, interpolate, money, number } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";

class MolamPayoutSummary extends MolamElement {
  start() {
    const interval = Number(this.getAttribute("refresh-interval")) || 30000;
    this.unsubscribe = subscribe((state) => this.show(state), { refreshInterval: interval });
  }

  show({ summary, error, live }) {
    const title = gettext("Payouts");
    if (!summary) {
      if (error) this.failed(title, error, () => requestRefresh());
      return;
    }
    const p = summary.payouts;
    const settled = p.settled_amount_24h.length
      ? p.settled_amount_24h
          .map((s) => `<li data-currency="${esc(s.currency)}">${esc(money(s.amount, s.currency))}</li>`)
          .join("")
      : `<li>${esc(gettext("Nothing settled"))}</li>`;
    const stat = (label, value, field) =>
      `<div class="stat"><dt>${esc(label)}</dt><dd class="big" data-field="${field}">${esc(number(value))}</dd></div>`;
    this.setState("ready");
    this.paint(`<style>
        .stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(7rem, 1fr)); gap: 1rem; margin: 0; }
        .stat dd { text-align: left; font-size: 1.6rem; margin: 0; }
        .stat dt { font-size: 0.85rem; }
      </style>
      <section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <dl class="stats">
        ${stat(gettext("Pending"), p.pending, "pending")}
        ${stat(gettext("Processing"), p.processing, "processing")}
        ${stat(gettext("Sent (24 h)"), p.sent_24h, "sent_24h")}
        ${stat(gettext("Failed"), p.failed, "failed")}
      </dl>
      <dl class="stats" style="margin-top:1rem">
        ${stat(gettext("Active freezes"), summary.freezes.count, "freezes")}
        ${stat(gettext("Pending approvals"), summary.approvals.pending, "approvals")}
      </dl>
      <h3 class="muted">${esc(gettext("Settled in the last 24 h"))}</h3>
      <ul class="plain" data-field="settled">${settled}</ul>
      <p class="live">${esc(live ? gettext("Live") : gettext("Refreshing periodically"))} ·
        ${esc(interpolate(gettext("updated %(time)s"), { time: dateTime(summary.computed_at) }))}</p>
    </section>`);
  }
}

customElements.define("molam-payout-summary", MolamPayoutSummary);
