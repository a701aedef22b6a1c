// <molam-quick-actions>: retry failed payouts in batch, regenerate a
// settlement report, force a reconciliation, download the audit log; each
// confirmed, each reporting its outcome.

import { Intent, me, request, runAction } from "../api.js";
import { confirmDialog, errorText, esc, MolamElement } from "../base.js";
import { bankName, gettext, interpolate, number } from "../i18n.js";
import { requestRefresh, subscribe } from "../live.js";

function yesterday() {
  const d = new Date(Date.now() - 86400000);
  return d.toISOString().slice(0, 10);
}

class MolamQuickActions extends MolamElement {
  async start() {
    try {
      this.me = await me();
    } catch (err) {
      this.failed(gettext("Quick actions"), err, () => this.start());
      return;
    }
    this.outcome = "";
    this.unsubscribe = subscribe(({ summary }) => {
      if (summary && !this.summary) {
        this.summary = summary;
        this.show();
      } else if (summary) {
        this.summary = summary;
      }
    });
  }

  items() {
    return [
      {
        action: "retry_failed_payouts",
        label: gettext("Retry failed payouts"),
        text: gettext("Every failed payout (of the bank chosen, or of all banks) goes back to the queue."),
        fields: () => this.bankField(),
        body: (v) => (v.bank_profile_id ? { bank_profile_id: v.bank_profile_id } : {}),
      },
      {
        action: "regenerate_settlement_report",
        label: gettext("Regenerate the settlement report"),
        text: gettext("The settlement report of the chosen day is built again."),
        fields: () => `<label for="qa-date">${esc(gettext("Day"))}</label>
          <input id="qa-date" name="date" type="date" required value="${yesterday()}" max="${yesterday()}">${this.bankField()}`,
        body: (v) => ({ date: v.date, ...(v.bank_profile_id ? { bank_profile_id: v.bank_profile_id } : {}) }),
      },
      {
        action: "force_reconciliation",
        label: gettext("Force a reconciliation"),
        text: gettext("Payouts are reconciled against the banks now, without waiting for the schedule."),
        fields: () => `${this.bankField()}<label for="qa-reason">${esc(gettext("Reason"))}</label>
          <textarea id="qa-reason" name="reason" rows="2" required maxlength="500"></textarea>`,
        body: (v) => ({ reason: v.reason.trim(), ...(v.bank_profile_id ? { bank_profile_id: v.bank_profile_id } : {}) }),
      },
    ];
  }

  bankField() {
    const banks = (this.summary?.banks || [])
      .map((b) => `<option value="${esc(b.id)}">${esc(bankName(b))}</option>`)
      .join("");
    return `<label for="qa-bank">${esc(gettext("Bank"))}</label>
      <select id="qa-bank" name="bank_profile_id"><option value="">${esc(gettext("All banks"))}</option>${banks}</select>`;
  }

  show() {
    const title = gettext("Quick actions");
    const buttons = this.items()
      .map((item) => {
        const allowed = Boolean(this.me.actions[item.action]);
        const available = this.me.available_actions.includes(item.action);
        const why = !available
          ? gettext("Not available on this server yet.")
          : allowed
            ? ""
            : gettext("Your roles do not allow this action.");
        return `<li><button type="button" data-action="${item.action}" ${allowed ? "" : `disabled aria-describedby="why-${item.action}"`}>${esc(item.label)}</button>
          ${why ? `<span class="muted" id="why-${item.action}">${esc(why)}</span>` : ""}</li>`;
      })
      .join("");
    this.setState("ready");
    this.paint(`<style>
        li { margin: 0 0 0.75rem; } li button { width: 100%; text-align: left; }
        li .muted { display: block; margin-top: 0.25rem; }
      </style>
      <section class="card" aria-label="${esc(title)}">
      <h2>${esc(title)}</h2>
      <ul class="plain">${buttons}
        <li><button type="button" data-action="export">${esc(gettext("Export the audit log"))}</button></li>
      </ul>
      <div class="outcome">${this.outcome}</div>
    </section>`);
    for (const button of this.shadowRoot.querySelectorAll("button[data-action]")) {
      button.addEventListener("click", () =>
        button.dataset.action === "export"
          ? this.export()
          : this.run(this.items().find((i) => i.action === button.dataset.action)),
      );
    }
  }

  report(kind, text) {
    this.outcome = `<p class="message ${kind}" role="status">${esc(text)}</p>`;
    this.show();
  }

  async run(item) {
    const intent = new Intent();
    const result = await confirmDialog(this, {
      title: interpolate(gettext("%(action)s?"), { action: item.label }),
      text: item.text,
      fields: item.fields(),
      confirmLabel: gettext("Confirm"),
      onConfirm: (values) => runAction(this.me, item.action, item.body(values), intent),
    });
    if (!result) return;
    if (result.status === 202) {
      this.report("wait", gettext("Accepted: waiting for signatures or a worker."));
    } else {
      const details = result.body.log?.details || {};
      const count = details.count ?? details.retried ?? details.payouts;
      this.report(
        "ok",
        count === undefined
          ? interpolate(gettext("%(action)s: done."), { action: item.label })
          : interpolate(gettext("%(action)s: done (%(count)s)."), { action: item.label, count: number(count) }),
      );
    }
    this.emit("success", result.body);
    requestRefresh();
  }

  async export() {
    const result = await confirmDialog(this, {
      title: gettext("Export the audit log?"),
      text: gettext("The whole log is downloaded, with its hashes."),
      fields: `<label for="qa-format">${esc(gettext("Format"))}</label>
        <select id="qa-format" name="format"><option value="csv">CSV</option><option value="json">JSON</option></select>`,
      confirmLabel: gettext("Export"),
      onConfirm: async ({ format }) => {
        const { status, response } = await request("GET", `/api/ops/actions/export?format=${format}`, { raw: true });
        // a log too long for one request is written by a worker: 202, a job
        if (status === 202) return { format, job: (await response.json()).job };
        return { format, size: await save(response, format) };
      },
    });
    if (!result) return;
    if (result.job) {
      const size = await this.awaitJob(result.job, result.format);
      if (size === null) return;
      result.size = size;
    }
    this.report("ok", interpolate(gettext("Audit log exported (%(size)s bytes)."), { size: number(result.size) }));
    this.emit("success", result);
  }

  // Follow an export job until its file can be downloaded; the bytes saved,
  // or null when the job failed (said in the widget).
  async awaitJob(job, format) {
    for (let attempt = 0; job.status !== "done"; attempt += 1) {
      if (job.status === "failed") {
        this.report("error", interpolate(gettext("The export failed: %(why)s"), { why: job.error || "" }));
        return null;
      }
      this.report(
        "wait",
        interpolate(gettext("Preparing the export: %(done)s of about %(total)s rows."), {
          done: number(job.progress),
          total: number(job.total ?? 0),
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * (attempt + 1), 5000)));
      job = (await request("GET", `/api/ops/audit/jobs/${job.id}`)).body.job;
    }
    const { response } = await request("GET", `/api/ops/audit/jobs/${job.id}/download`, { raw: true });
    return save(response, format);
  }
}

// Hand a response's body to the browser as a download; its size in bytes.
async function save(response, format) {
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `ops-actions-log.${format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return blob.size;
}

customElements.define("molam-quick-actions", MolamQuickActions);
