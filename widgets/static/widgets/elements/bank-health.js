// <molam-bank-health>: a grid of the bank connectors, green/yellow/red with
// circuit state and last check; a bank opens its details and its actions
// (pause/resume, and a <molam-freeze-button> for its payouts).

import { Intent, me, runAction } from "../api.js";
import { confirmDialog, esc, MolamElement } from "../base.js";
import { bankName, dateTime, gettext, interpolate, number, percent } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";

const STATUS = () => ({ green: gettext("Healthy"), yellow: gettext("Degraded"), red: gettext("Failing") });
const CIRCUIT = () => ({ closed: gettext("closed"), open: gettext("open"), half_open: gettext("half-open") });

class MolamBankHealth extends MolamElement {
  async start() {
    try {
      this.me = await me();
    } catch (err) {
      this.failed(gettext("Bank health"), err, () => this.start());
      return;
    }
    const interval = Number(this.getAttribute("refresh-interval")) || 30000;
    this.unsubscribe = subscribe((state) => this.show(state), { refreshInterval: interval });
  }

  show({ summary, error, live }) {
    const title = gettext("Bank health");
    if (!summary) {
      if (error) this.failed(title, error, () => requestRefresh());
      return;
    }
    this.summary = summary;
    if (this.detailOpen) {
      this.refreshDetail();
      return; // repainting the grid would close the open dialog's anchor
    }
    if (!summary.banks.length) {
      this.setState("empty");
      this.paint(`<section class="card" aria-label="${esc(title)}"><h2>${esc(title)}</h2>
        <p class="message info" role="status">${esc(gettext("No bank connector is configured."))}</p></section>`);
      return;
    }
    const status = STATUS();
    const circuit = CIRCUIT();
    const tiles = summary.banks
      .map((bank) => {
        const flags = [
          bank.paused ? `<span class="pill yellow">${esc(gettext("Paused"))}</span>` : "",
          bank.frozen ? `<span class="pill red">${esc(gettext("Frozen"))}</span>` : "",
        ].join(" ");
        return `<li><button type="button" class="tile ${esc(bank.status)}" data-bank="${esc(bank.id)}" aria-haspopup="dialog">
          <span class="dot" aria-hidden="true"></span>
          <span class="name">${esc(bankName(bank))}</span>
          <span class="pill ${esc(bank.status)}">${esc(status[bank.status] || bank.status)}</span>
          <span class="muted">${esc(interpolate(gettext("circuit %(state)s"), { state: circuit[bank.circuit_state] || bank.circuit_state }))}</span>
          <span class="muted">${esc(interpolate(gettext("checked %(time)s"), { time: dateTime(bank.last_health_check_at) }))}</span>
          <span class="flags">${flags}</span>
        </button></li>`;
      })
      .join("");
    this.setState("ready");
    this.paint(`<style>
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 0.75rem; list-style: none; padding: 0; margin: 0; }
        .tile { width: 100%; height: 100%; text-align: left; display: flex; flex-direction: column; gap: 0.3rem; padding: 0.8rem 0.9rem; }
        .tile .name { font-weight: 600; } .tile .pill { align-self: flex-start; }
        .tile .dot { width: 0.8rem; height: 0.8rem; border-radius: 50%; }
        .tile.green .dot { background: #16a34a; } .tile.yellow .dot { background: #ca8a04; } .tile.red .dot { background: #dc2626; }
        .tile.red { border-left: 5px solid #dc2626; } .tile.yellow { border-left: 5px solid #ca8a04; } .tile.green { border-left: 5px solid #16a34a; }
      </style>
      <section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <ul class="grid">${tiles}</ul>
      <p class="live">${esc(live ? gettext("Live") : gettext("Refreshing periodically"))} ·
        ${esc(interpolate(gettext("updated %(time)s"), { time: dateTime(summary.computed_at) }))}</p>
    </section>`);
    for (const tile of this.shadowRoot.querySelectorAll(".tile")) {
      tile.addEventListener("click", () => this.openDetail(tile.dataset.bank));
    }
  }

  detailHtml(bank) {
    const status = STATUS();
    const circuit = CIRCUIT();
    const canPause = Boolean(this.me.actions[bank.paused ? "resume_bank" : "pause_bank"]);
    return `<h3 id="bank-title">${esc(bankName(bank))}</h3>
      <dl>
        <dt>${esc(gettext("Health"))}</dt><dd><span class="pill ${esc(bank.status)}">${esc(status[bank.status] || bank.status)}</span></dd>
        <dt>${esc(gettext("Circuit"))}</dt><dd>${esc(circuit[bank.circuit_state] || bank.circuit_state)}</dd>
        <dt>${esc(gettext("Success rate"))}</dt><dd>${esc(percent(bank.success_rate))}</dd>
        <dt>${esc(gettext("Average latency"))}</dt><dd>${esc(interpolate(gettext("%(ms)s ms"), { ms: number(bank.avg_latency_ms) }))}</dd>
        <dt>${esc(gettext("Currencies"))}</dt><dd>${esc(bank.currencies.join(", "))}</dd>
        <dt>${esc(gettext("Last check"))}</dt><dd>${esc(dateTime(bank.last_health_check_at))}</dd>
        <dt>${esc(gettext("Connector"))}</dt><dd data-field="paused">${esc(bank.paused ? gettext("Paused") : gettext("Running"))}</dd>
      </dl>
      <div class="row" style="margin-top:1rem">
        <button type="button" class="pause" ${canPause ? "" : 'disabled aria-describedby="pause-why"'}>${esc(bank.paused ? gettext("Resume the bank") : gettext("Pause the bank"))}</button>
      </div>
      ${canPause ? "" : `<p class="muted" id="pause-why">${esc(gettext("Pausing or resuming a bank needs the pay_admin role."))}</p>`}
      <div class="pause-outcome"></div>`;
  }

  openDetail(bankId) {
    const bank = this.summary.banks.find((b) => b.id === bankId);
    if (!bank) return;
    this.detailOpen = bankId;
    const dialog = document.createElement("dialog");
    dialog.setAttribute("aria-labelledby", "bank-title");
    dialog.innerHTML = `<div class="detail">${this.detailHtml(bank)}</div>
      <molam-freeze-button scope="${esc(bank.id)}"></molam-freeze-button>
      <div class="actions"><button type="button" class="close">${esc(gettext("Close"))}</button></div>`;
    this.shadowRoot.appendChild(dialog);
    this.dialog = dialog;
    const close = () => {
      if (this.dialog !== dialog) return; // "close" fires after close()
      this.dialog = null;
      if (dialog.open) dialog.close();
      dialog.remove();
      this.detailOpen = null;
      this.show({ summary: this.summary, error: null, live: true });
    };
    dialog.querySelector(".close").addEventListener("click", close);
    dialog.addEventListener("close", close);
    this.wirePause(bank);
    dialog.showModal();
  }

  refreshDetail() {
    const bank = this.summary.banks.find((b) => b.id === this.detailOpen);
    if (!bank || !this.dialog) return;
    const outcome = this.dialog.querySelector(".pause-outcome").innerHTML;
    this.dialog.querySelector(".detail").innerHTML = this.detailHtml(bank);
    this.dialog.querySelector(".pause-outcome").innerHTML = outcome;
    this.wirePause(bank);
  }

  wirePause(bank) {
    const button = this.dialog.querySelector(".pause");
    if (button.disabled) return;
    button.addEventListener("click", async () => {
      const action = bank.paused ? "resume_bank" : "pause_bank";
      const intent = new Intent();
      const name = bankName(bank);
      const result = await confirmDialog(this, {
        title: bank.paused
          ? interpolate(gettext("Resume %(bank)s?"), { bank: name })
          : interpolate(gettext("Pause %(bank)s?"), { bank: name }),
        text: bank.paused
          ? gettext("Payouts will be sent to this bank again.")
          : gettext("No payout will be sent to this bank until it is resumed."),
        fields: `<label for="pause-reason">${esc(gettext("Reason"))}</label>
          <textarea id="pause-reason" name="reason" rows="2" ${bank.paused ? "" : "required"} maxlength="500"></textarea>`,
        confirmLabel: bank.paused ? gettext("Resume") : gettext("Pause"),
        danger: !bank.paused,
        onConfirm: ({ reason }) => runAction(this.me, action, { bank_profile_id: bank.id, reason: reason.trim() }, intent),
      });
      if (!result) return;
      this.dialog.querySelector(".pause-outcome").innerHTML = `<p class="message ok" role="status">${esc(
        bank.paused ? gettext("Bank resumed.") : gettext("Bank paused."),
      )}</p>`;
      this.emit("success", result.body);
      requestRefresh();
    });
  }
}

customElements.define("molam-bank-health", MolamBankHealth);
