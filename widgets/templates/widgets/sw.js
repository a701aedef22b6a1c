// Molam Ops service worker. At install it keeps the offline shell (the
// dashboard page without anything of an operator's) and the content-hashed
// scripts, styles and icons it needs; a page opened without network is that
// shell. The API, the socket and the admin always go to the network, and no
// answer of theirs is ever stored. {{ version }}
const CACHE = "{{ version }}";
const SHELL_PAGE = "{{ shell }}";
const SHELL = {{ files|safe }};  // the shell page and static() paths, JSON-encoded by the view

self.addEventListener("install", (event) => {
  // `reload`: straight from the server, not from the HTTP cache
  const requests = SHELL.map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/ws/") || url.pathname.startsWith("/admin/")) return;
  if (event.request.mode === "navigate") {
    // a page: the network (it needs the session); the shell when there is none
    event.respondWith(fetch(event.request).catch(() => caches.match(SHELL_PAGE)));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // a hashed name never changes content: the kept copy is the file
    event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
    return;
  }
  if (url.pathname.startsWith("/widgets/i18n/")) {
    // the strings: fresh when possible, the last copy offline
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(event.request, copy));
          }
          return response;
        })
        .catch(() => caches.match(event.request)),
    );
  }
});
