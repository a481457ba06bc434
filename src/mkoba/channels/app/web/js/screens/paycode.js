// Pay code (the payer): a short-lived code (digits and QR) for a shop or a friend to
// charge; their charge arrives live (a `charge` notice) and is confirmed with the PIN.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { format } from "../money.js";
import { $, busy, refuse, show, toDate } from "../ui.js";

let shown = null; // {expires: Date, timer, picture}
let asked = null; // the charge waiting for this phone's answer

function clear() {
  if (shown !== null) {
    clearInterval(shown.timer);
    URL.revokeObjectURL(shown.picture);
  }
  shown = null;
  $("paycode-code").hidden = true;
  $("paycode-qr").removeAttribute("src");
  $("paycode-digits").textContent = "";
}

// Seconds left, rounded up: a code is said expired only once the server holds it so
// (rounding to the nearest said so half a second early, and a quick payer was let through).
function tick() {
  const left = Math.max(0, Math.ceil((shown.expires.getTime() - Date.now()) / 1000));
  $("paycode-countdown").dataset.left = String(left);
  if (left > 0) {
    $("paycode-countdown").textContent = t("paycode.expires_in", { seconds: left });
    return;
  }
  clear();
  $("paycode-countdown").textContent = t("paycode.expired");
}

function display(code) {
  clear();
  // The server's SVG as a picture (an <img>), never as markup in this page.
  const picture = URL.createObjectURL(new Blob([code.svg], { type: "image/svg+xml" }));
  shown = { expires: toDate(code.expires) ?? new Date(Date.now() + 90000), picture, timer: 0 };
  $("paycode-qr").src = picture;
  // Four and four: easier to read aloud and to type.
  $("paycode-digits").textContent = `${code.code.slice(0, 4)} ${code.code.slice(4)}`;
  $("paycode-code").hidden = false;
  $("paycode-done").hidden = true;
  shown.timer = setInterval(tick, 1000);
  tick();
}

function closeAsk() {
  asked = null;
  $("paycode-pin").value = "";
  $("paycode-confirm").hidden = true;
}

function finished(text) {
  closeAsk();
  $("paycode-done").textContent = text;
  $("paycode-done").hidden = false;
}

/** A `charge` notice: someone charged this phone's code; ask for the PIN. */
export function charge(notice) {
  clear();
  asked = notice;
  $("paycode-countdown").textContent = "";
  const amount = format(notice.amount);
  $("paycode-asked").textContent = notice.reference
    ? t("paycode.asks_ref", { name: notice.payee, amount, reference: notice.reference })
    : t("paycode.asks", { name: notice.payee, amount });
  $("paycode-done").hidden = true;
  $("paycode-confirm").hidden = false;
  refuse("paycode", null);
  show("paycode");
  $("paycode-pin").focus();
}

/** Wire the pay code screen. */
export function init() {
  $("paycode-show").addEventListener("click", () =>
    busy($("paycode-show"), async () => {
      refuse("paycode", null);
      closeAsk();
      try {
        display(await api.signed("POST", "/paycodes", {}));
      } catch (error) {
        refuse("paycode", error);
      }
    }),
  );
  $("paycode-confirm").addEventListener("submit", (event) => {
    event.preventDefault();
    if (asked === null) return;
    const button = event.submitter || $("paycode-pay");
    busy(button, async () => {
      refuse("paycode", null);
      const pin = $("paycode-pin").value;
      $("paycode-pin").value = "";
      try {
        const paid = await api.signed("POST", "/charges/confirm", { charge: asked.charge, pin });
        finished(t("paycode.paid", { amount: format(paid.amount), name: paid.payee, receipt: paid.receipt }));
      } catch (error) {
        refuse("paycode", error);
        // A wrong PIN leaves the charge open; anything else ends it here.
        if (!["wrong_pin", "network", "system_busy"].includes(error.code)) closeAsk();
      }
    });
  });
  $("paycode-decline").addEventListener("click", () =>
    busy($("paycode-decline"), async () => {
      if (asked === null) return;
      refuse("paycode", null);
      try {
        await api.signed("POST", "/charges/decline", { charge: asked.charge });
        finished(t("paycode.declined"));
      } catch (error) {
        refuse("paycode", error);
        closeAsk();
      }
    }),
  );
}
