// Receive: a dynamic code (amount + reference) from the server, shown until it is
// paid (a notice says so, live) or expires.

import * as api from "../api.js";
import { token } from "../emv.js";
import { t } from "../i18n.js";
import { format, parse } from "../money.js";
import { $, busy, refuse, toDate } from "../ui.js";

let shown = null; // {token, amount, reference, expires: Date, timer, picture}

function clear() {
  if (shown !== null) {
    clearInterval(shown.timer);
    URL.revokeObjectURL(shown.picture);
  }
  shown = null;
  $("receive-code").hidden = true;
  $("receive-qr").removeAttribute("src");
  $("receive-form").hidden = false;
}

// Seconds left, rounded up: a code is said expired only once the server holds it so
// (rounding to the nearest said so half a second early, and a quick payer was let through).
function tick() {
  const left = Math.max(0, Math.ceil((shown.expires.getTime() - Date.now()) / 1000));
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");
  $("receive-countdown").textContent =
    left > 0 ? t("receive.expires_in", { time: `${minutes}:${seconds}` }) : t("receive.expired");
  $("receive-countdown").dataset.left = String(left);
  if (left === 0) {
    clearInterval(shown.timer);
    $("receive-qr").hidden = true;
  }
}

function display(code, amount, reference) {
  clear();
  // The server's SVG as a picture (an <img>), never as markup in this page.
  const picture = URL.createObjectURL(new Blob([code.svg], { type: "image/svg+xml" }));
  const expires = toDate(code.expires) ?? new Date(Date.now() + 300000);
  shown = { token: code.token ?? token(code.payload), amount, reference, expires, picture, timer: 0 };
  $("receive-qr").src = picture;
  $("receive-qr").alt = t("receive.qr_alt", { amount: format(amount) });
  $("receive-qr").hidden = false;
  $("receive-payload").textContent = code.payload;
  $("receive-amount-text").textContent = `${format(amount)} · ${reference}`;
  $("receive-form").hidden = true;
  $("receive-code").hidden = false;
  $("receive-paid").hidden = true;
  shown.timer = setInterval(tick, 1000);
  tick();
}

/** A payment notice: if it pays the code on show, say who paid. */
export function paid(notice) {
  // A charged pay code is not the code on show, whatever its amount and reference.
  if (shown === null || notice.direction !== "in" || notice.charge) return;
  const ours = notice.token
    ? notice.token === shown.token
    : notice.amount === shown.amount && notice.reference === shown.reference;
  if (!ours) return;
  clear();
  $("receive-paid").textContent = t("receive.paid", {
    name: notice.other,
    amount: format(notice.amount),
    receipt: notice.receipt,
  });
  $("receive-paid").hidden = false;
}

/** Wire the receive screen. */
export function init() {
  $("receive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || $("receive-form").querySelector("button");
    busy(button, async () => {
      refuse("receive", null);
      $("receive-paid").hidden = true;
      const amount = parse($("receive-amount").value);
      if (amount === null) {
        refuse("receive", { code: "amount_invalid" });
        return;
      }
      const reference = $("receive-reference").value.trim();
      try {
        const code = await api.signed("POST", "/codes", { amount, reference });
        display(code, amount, reference);
      } catch (error) {
        refuse("receive", error);
      }
    });
  });
  $("receive-new").addEventListener("click", () => {
    clear();
    $("receive-paid").hidden = true;
    $("receive-form").reset();
  });
}
