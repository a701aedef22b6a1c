// <molam-balance currency="XOF" refresh-interval="30000">: the treasury
// balance and float in one currency, live.

import { esc, MolamElement } from "../base.js";
import { dateTime, gettext, interpolate, isCurrency, money, number } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";

class MolamBalance extends MolamElement {
  static observedAttributes = ["currency", "refresh-interval"];

  get currency() {
    return (this.getAttribute("currency") || "USD").trim().toUpperCase();
  }

  get refreshInterval() {
    return Number(this.getAttribute("refresh-interval")) || 30000;
  }

  attributeChangedCallback() {
    if (this.unsubscribe) {
      this.unsubscribe();
      this.start();
    }
  }

  start() {
    const title = interpolate(gettext("Balance %(currency)s"), { currency: this.currency });
    if (!isCurrency(this.currency)) {
      this.invalid(
        gettext("Balance"),
        interpolate(gettext("Unknown currency “%(currency)s”: use an ISO 4217 code such as XOF or USD."), {
          currency: this.getAttribute("currency") || "",
        }),
      );
      return;
    }
    this.unsubscribe = subscribe((state) => this.show(title, state), {
      refreshInterval: this.refreshInterval,
    });
  }

  show(title, { summary, error, live }) {
    if (!summary) {
      if (error) this.failed(title, error, () => requestRefresh());
      return;
    }
    const row = summary.treasury.find((r) => r.currency === this.currency);
    if (!row) {
      this.setState("empty");
      this.paint(`<section class="card" aria-label="${esc(title)}"><h2>${esc(title)}</h2>
        <p class="message info" role="status">${esc(
          interpolate(gettext("No treasury account holds %(currency)s."), { currency: this.currency }),
        )}</p></section>`);
      return;
    }
    const below = row.accounts_below_float
      ? `<p class="message wait" role="status">${esc(
          interpolate(gettext("%(count)s account(s) below their minimum float."), {
            count: number(row.accounts_below_float),
          }),
        )}</p>`
      : "";
    this.setState("ready");
    this.paint(`<section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <p class="big" data-field="balance">${esc(money(row.balance, row.currency))}</p>
      <dl>
        <dt>${esc(gettext("Minimum float"))}</dt><dd data-field="float">${esc(money(row.float, row.currency))}</dd>
        <dt>${esc(gettext("Above the float"))}</dt><dd>${esc(money(row.headroom, row.currency))}</dd>
        <dt>${esc(gettext("Accounts"))}</dt><dd>${esc(number(row.accounts))}</dd>
      </dl>${below}
      <p class="live">${esc(live ? gettext("Live") : gettext("Refreshing periodically"))} ·
        ${esc(interpolate(gettext("updated %(time)s"), { time: dateTime(summary.computed_at) }))}</p>
    </section>`);
  }
}

customElements.define("molam-balance", MolamBalance);
