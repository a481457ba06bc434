// The app's start: language, the service worker, which screen, the live notices.

import * as api from "./api.js";
import * as device from "./device.js";
import * as events from "./events.js";
import * as i18n from "./i18n.js";
import * as bill from "./screens/bill.js";
import * as charge from "./screens/charge.js";
import * as enrol from "./screens/enrol.js";
import * as gift from "./screens/gift.js";
import * as home from "./screens/home.js";
import * as notices from "./screens/notices.js";
import * as pay from "./screens/pay.js";
import * as paycode from "./screens/paycode.js";
import * as receive from "./screens/receive.js";
import * as request from "./screens/request.js";
import * as store from "./store.js";
import { $, onShow, refuse, show, toast } from "./ui.js";

// WebCrypto, the camera and service workers exist only in a secure context
// (https://, or http://localhost and 127.0.0.1 while developing).
function supported() {
  return window.isSecureContext && !!(window.crypto && crypto.subtle) && "indexedDB" in window;
}

function payment(notice) {
  notices.add(notice);
  toast(notices.describe(notice));
  receive.paid(notice);
  home.stale();
}

// Someone asks this phone for money: said at once (the list on the Request screen has it).
function asked(notice) {
  notices.add(notice);
  toast(notices.describe(notice));
}

function listen() {
  events.start({
    payment,
    charge: paycode.charge,
    request: asked,
    state: notices.state,
    ended: async (error) => {
      await unbound();
      refuse("enrol", error);
    },
  });
}

async function bound(who) {
  await store.put("profile", who);
  home.profile(who);
  show("home");
  listen();
}

async function unbound() {
  events.stop();
  pay.leave();
  await device.forget();
  show("enrol");
}

async function resume() {
  const kept = await store.get("profile");
  if (kept) home.profile(kept);
  show("home");
  try {
    const me = await api.signed("GET", "/me");
    await store.put("profile", { name: me.name, msisdn: me.msisdn });
    home.profile(me);
  } catch (error) {
    if (["binding_ended", "device_unknown", "not_bound"].includes(error.code)) {
      await unbound();
      refuse("enrol", error);
      return;
    }
    refuse("home", error);
  }
  listen();
}

async function main() {
  await i18n.use(i18n.initial());
  $("language").addEventListener("click", () =>
    i18n.use(i18n.current() === "en" ? "sw" : "en", true),
  );
  if (!supported()) {
    $("unsupported").textContent = i18n.t("errors.insecure");
    $("unsupported").hidden = false;
    return;
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch(() => undefined); // offline is a bonus
  }
  for (const tab of document.querySelectorAll("#tabs [data-go]")) {
    tab.addEventListener("click", () => {
      if (tab.dataset.go !== "pay") pay.leave();
      if (tab.dataset.go !== "charge") charge.leave();
      show(tab.dataset.go);
    });
  }
  // The camera never runs unseen: switching away from the app turns it off.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      pay.leave();
      charge.leave();
    }
  });
  enrol.init(bound);
  home.init(unbound);
  receive.init();
  pay.init();
  request.init();
  bill.init();
  gift.init();
  paycode.init();
  charge.init();
  onShow("enrol", () => $("enrol-msisdn").focus());
  if ((await device.deviceId()) === undefined) show("enrol");
  else await resume();
  document.body.dataset.ready = "1";
}

main();
