// The dashboard page: the language switch (saved as the operator's
// preference) and the service worker that makes it installable.

import { request } from "./api.js";

const form = document.getElementById("lang-form");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const lang = new FormData(form).get("lang");
  await request("PUT", "/api/widgets/state/preferences", { body: { lang } });
  window.location.reload();
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
