// The service worker: keeps the app's own files (the shell) so it opens without a
// network; never stores an API answer (balances, codes, notices are the server's).

const SHELL = "mkoba-shell-v1";
const FILES = [
  "./",
  "index.html",
  "app.css",
  "icon.svg",
  "manifest.webmanifest",
  "lang/en.json",
  "lang/sw.json",
  "js/main.js",
  "js/api.js",
  "js/device.js",
  "js/emv.js",
  "js/events.js",
  "js/i18n.js",
  "js/money.js",
  "js/scanner.js",
  "js/scan-worker.js",
  "js/store.js",
  "js/ui.js",
  "js/screens/charge.js",
  "js/screens/enrol.js",
  "js/screens/home.js",
  "js/screens/notices.js",
  "js/screens/pay.js",
  "js/screens/paycode.js",
  "js/screens/receive.js",
  "js/screens/request.js",
  "js/screens/bill.js",
  "js/screens/gift.js",
  "js/visit.js",
  "vendor/jsQR.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== SHELL).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  const shell = new URL("./", self.registration.scope);
  // Only our own GETs of the shell; the API (and everything else) goes to the network untouched.
  if (event.request.method !== "GET" || url.origin !== shell.origin) return;
  if (!url.pathname.startsWith(shell.pathname) || url.pathname.includes("/api/")) return;
  // The network first, so a new version shows at once; the kept copy when offline.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(SHELL).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request).then((kept) => kept || Response.error())),
  );
});
