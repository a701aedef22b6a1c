// <molam-suggestions>: SIRA's suggestions as a floating badge with the open
// count; it expands into a panel with each suggestion's confidence and
// accept / decline through the API.

import { get, Intent, me, runAction } from "../api.js";
import { errorText, esc, MolamElement } from "../base.js";
import { gettext, interpolate, number, percent } from "../i18n.js";
import { subscribe } from "../live.js";

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
      const changed = JSON.stringify(summary.suggestions) !== JSON.stringify(this.suggestions);
      this.suggestions = summary.suggestions;
      if (changed) this.show();
    });
  }

  show(message = "") {
    const count = this.suggestions.open;
    const label = interpolate(gettext("SIRA suggestions: %(count)s open"), { count: number(count) });
    this.setState(this.suggestions.available ? "ready" : "empty");
    this.paint(`<style>
        :host { position: fixed; right: 1.5rem; bottom: 1.5rem; z-index: 20; display: block; }
        .badge { border-radius: 999px; padding: 0.7rem 1.1rem; font-weight: 600; background: #1d4ed8;
          color: #ffffff; border-color: #1d4ed8; box-shadow: 0 6px 20px rgb(0 0 0 / 0.2); }
        .panel { position: absolute; right: 0; bottom: 3.75rem; width: min(24rem, 90vw); max-height: 60vh; overflow: auto;
          box-shadow: 0 12px 30px rgb(0 0 0 / 0.25); }
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
      items = (await get("/api/ops/suggestions?status=open")).body.results;
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
          <p>${esc(interpolate(gettext("Confidence %(value)s"), { value: percent(s.confidence ?? 0) }))}</p>
          <div class="row">
            <button type="button" class="primary accept" ${this.me.actions.accept_suggestion ? "" : "disabled"}>${esc(gettext("Accept"))}</button>
            <button type="button" class="decline" ${this.me.actions.decline_suggestion ? "" : "disabled"}>${esc(gettext("Decline"))}</button>
          </div></li>`,
      )
      .join("")}</ul>`;
    for (const item of list.querySelectorAll("li[data-id]")) {
      const decide = async (action) => {
        try {
          await runAction(this.me, action, {}, new Intent(), { suggestion_id: item.dataset.id });
          item.remove();
          this.emit("success", { action, suggestion_id: item.dataset.id });
        } catch (err) {
          item.insertAdjacentHTML("beforeend", `<p class="message error" role="alert">${esc(errorText(err))}</p>`);
        }
      };
      item.querySelector(".accept").addEventListener("click", () => decide("accept_suggestion"));
      item.querySelector(".decline").addEventListener("click", () => decide("decline_suggestion"));
    }
  }
}

customElements.define("molam-suggestions", MolamSuggestions);
