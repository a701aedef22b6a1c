// How a plan reads in the plan panel: its steps in words with bank names,
// each step's honest progress (payouts moved of those expected, and why the
// others did not move), the preview of what it changes per bank and
// currency, and what it could not do. Plans recorded before the preview and
// the per-step progress existed have neither: their parts are left out.

import { esc } from "./base.js";
import { bankName, gettext, interpolate, money, moneyCode, ngettext, number } from "./i18n.js";

// Why payouts of a step did not move (details.progress.steps[].reasons).
const REASONS = () => ({
  not_pending: gettext("no longer pending"),
  already_moved: gettext("already moved"),
  currency_not_served: gettext("currency not served by the target bank"),
  target_unavailable: gettext("target bank unavailable"),
  bank_paused: gettext("bank paused"),
  bank_frozen: gettext("bank frozen"),
  capacity: gettext("target bank at capacity"),
  insufficient_funds: gettext("insufficient funds"),
});

// Bank names by id, from the live summary's bank-health list.
export function bankNames(summary) {
  const names = new Map();
  for (const bank of summary?.banks || []) names.set(String(bank.id), bankName(bank));
  return names;
}

function bank(names, ref) {
  if (!ref) return gettext("unknown bank");
  return names.get(String(ref)) || String(ref); // SIRA may name it already
}

// One step in words: the action and its target, with bank names.
export function stepText(step, names) {
  const from = bank(names, step.from_bank_id || step.from_bank);
  const to = bank(names, step.to_bank_id || step.to_bank);
  switch (step.action) {
    case "reroute_payouts":
      return step.count != null
        ? interpolate(ngettext("Reroute %(count)s payout from %(from)s to %(to)s", "Reroute %(count)s payouts from %(from)s to %(to)s", Number(step.count)), {
            count: number(step.count),
            from,
            to,
          })
        : interpolate(gettext("Reroute payouts from %(from)s to %(to)s"), { from, to });
    case "pause_bank":
      return interpolate(gettext("Pause %(bank)s"), { bank: bank(names, step.bank_profile_id || step.bank) });
    case "resume_bank":
      return interpolate(gettext("Resume %(bank)s"), { bank: bank(names, step.bank_profile_id || step.bank) });
    case "transfer_funds":
      return interpolate(gettext("Move %(currency)s float between treasury accounts"), { currency: step.currency || "" });
    default:
      return step.action;
  }
}

const STATES = () => ({
  pending: gettext("pending"),
  running: gettext("running"),
  blocked: gettext("blocked"),
  done: gettext("done"),
  failed: gettext("failed"),
  noop: gettext("nothing to do"),
});

// A step's progress: the per-step figures when the plan has them, else the
// step's status alone.
export function stepProgress(details, index) {
  const rich = (details.progress?.steps || []).find((s) => Number(s.index) === index);
  const plain = Array.isArray(details.steps)
    ? details.steps.find((s) => Number(s.index) === index) || details.steps[index]
    : details.steps?.[index] ?? details.steps?.[String(index)];
  return { ...(plain || {}), ...(rich || {}) };
}

export function progressText(progress) {
  const state = STATES()[progress.status] || progress.status || "";
  if (progress.expected == null || progress.moved == null) return state;
  const moved = interpolate(gettext("%(moved)s of %(expected)s payouts moved"), {
    moved: number(progress.moved),
    expected: number(progress.expected),
  });
  const why = Object.entries(progress.reasons || {})
    .filter(([, count]) => Number(count) > 0)
    .map(([code, count]) => `${number(count)} ${REASONS()[code] || code}`)
    .join(", ");
  return [state, moved, why ? interpolate(gettext("not moved: %(why)s"), { why }) : ""].filter(Boolean).join(" · ");
}

export function stepsTable(plan, names, currency) {
  const details = plan.details || {};
  const rows = (plan.steps || [])
    .map((step, index) => {
      const progress = stepProgress(details, index);
      const partial = progress.expected != null && progress.moved != null && Number(progress.moved) < Number(progress.expected);
      return `<tr data-step="${index}" data-state="${esc(progress.status || "")}"${partial ? ' data-partial=""' : ""}>
        <td>${index + 1}</td><td data-field="step">${esc(stepText(step, names))}</td>
        <td class="num">${step.amount ? esc(moneyCode(step.amount, step.currency || currency)) : ""}</td>
        <td data-field="step-progress">${esc(progressText(progress))}</td></tr>`;
    })
    .join("");
  if (!rows) return "";
  return `<table class="steps"><caption class="visually-hidden">${esc(gettext("Steps"))}</caption>
    <thead><tr><th>#</th><th>${esc(gettext("Action"))}</th><th class="num">${esc(gettext("Amount"))}</th><th>${esc(gettext("State"))}</th></tr></thead>
    <tbody>${rows}</tbody></table>`;
}

const arrow = (before, after) => `${before} → ${after}`;

// details.preview: per bank and currency, before → after; and its totals.
export function previewTable(preview) {
  if (!preview || !Array.isArray(preview.rows)) return "";
  const rows = preview.rows
    .map((r) => {
      const m = (value) => (value == null ? "–" : moneyCode(value, r.currency));
      return `<tr data-bank="${esc(r.bank_id)}" data-currency="${esc(r.currency)}">
        <td>${esc(r.bank_name || r.bank_id)}</td><td>${esc(r.currency)}</td>
        <td class="num" data-field="payouts">${esc(arrow(number(r.payouts_before), number(r.payouts_after)))}</td>
        <td class="num" data-field="amount">${esc(arrow(m(r.amount_before), m(r.amount_after)))}</td>
        <td class="num" data-field="fees">${esc(arrow(m(r.fees_before), m(r.fees_after)))}</td>
        <td class="num" data-field="balance">${r.balance_before == null && r.balance_after == null ? "–" : esc(arrow(m(r.balance_before), m(r.balance_after)))}</td></tr>`;
    })
    .join("");
  const t = preview.totals || {};
  const usd = (value) => (value == null ? "–" : money(value, "USD"));
  const totals = `<dl class="totals">
      <dt>${esc(gettext("Payouts moved"))}</dt><dd data-field="payouts-moved">${esc(number(t.payouts_moved || 0))}</dd>
      <dt>${esc(gettext("Amount moved"))}</dt><dd data-field="amount-moved">${esc(usd(t.amount_moved_usd))}</dd>
      <dt>${esc(gettext("Fees"))}</dt><dd data-field="fees">${esc(arrow(usd(t.fees_before_usd), usd(t.fees_after_usd)))}</dd>
      <dt>${esc(gettext("Funds moved"))}</dt><dd data-field="funds-moved">${esc(usd(t.funds_moved_usd))}</dd>
      <dt>${esc(gettext("Banks paused"))}</dt><dd data-field="banks-paused">${esc(number(t.banks_paused || 0))}</dd>
    </dl>`;
  const link = preview.payouts_url
    ? `<p><a href="${esc(preview.payouts_url)}" target="_blank" rel="noopener">${esc(gettext("The payouts that move"))}</a></p>`
    : "";
  return `<section class="preview" aria-label="${esc(gettext("Preview"))}"><h4>${esc(gettext("What the plan changes"))}</h4>
    ${rows ? `<div class="scroll"><table><thead><tr><th>${esc(gettext("Bank"))}</th><th>${esc(gettext("Currency"))}</th>
      <th class="num">${esc(gettext("Payouts"))}</th><th class="num">${esc(gettext("Amount"))}</th>
      <th class="num">${esc(gettext("Fees"))}</th><th class="num">${esc(gettext("Balance"))}</th></tr></thead><tbody>${rows}</tbody></table></div>` : ""}
    ${totals}${link}</section>`;
}

// details.unmet: what the plan could not do, and why.
export function unmetList(details) {
  const unmet = Array.isArray(details?.unmet) ? details.unmet : [];
  if (!unmet.length) return "";
  const items = unmet
    .map((u) => `<li>${esc(typeof u === "string" ? u : u.message || u.reason || u.code || JSON.stringify(u))}</li>`)
    .join("");
  return `<div class="message wait" data-field="unmet"><p>${esc(gettext("What the plan could not do:"))}</p><ul>${items}</ul></div>`;
}
