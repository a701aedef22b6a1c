// The dashboard page: the language switch (saved as the operator's
// preference) and the service worker that makes it installable and opens
// its offline shell when there is no network.

import { backoff, request } from "./api.js";

const form = document.getElementById("lang-form");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const lang = new FormData(form).get("lang");
  await request("PUT", "/api/widgets/state/preferences", { body: { lang } });
  window.location.reload();
});

// The offline shell (data-shell) knows nothing of the operator: once the
// network is back and the server answers, the page becomes the dashboard.
async function reloadWhenReachable(attempt = 0) {
  try {
    if ((await fetch("/healthz", { cache: "no-store" })).ok) {
      window.location.reload();
      return;
    }
  } catch (err) {
    // not yet
  }
  setTimeout(() => reloadWhenReachable(attempt + 1), backoff(attempt));
}

if (document.body.hasAttribute("data-shell")) {
  window.addEventListener("online", () => reloadWhenReachable(), { once: true });
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
