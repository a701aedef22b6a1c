// The dashboard page: the language switch (saved as the operator's
// preference) and the service worker that makes it installable and opens
// its offline shell when there is no network.

import { request } from "./api.js";

const form = document.getElementById("lang-form");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const lang = new FormData(form).get("lang");
  await request("PUT", "/api/widgets/state/preferences", { body: { lang } });
  window.location.reload();
});

// The offline shell (data-shell) knows nothing of the operator: once the
// network is back, the page becomes the dashboard itself.
if (document.body.hasAttribute("data-shell")) {
  window.addEventListener("online", () => window.location.reload());
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
