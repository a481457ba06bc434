// Pay: scan (or paste) a code, let the server read it, show who and how much (the
// amount of a dynamic code cannot be changed), the PIN, then the receipt.

import * as api from "../api.js";
import { known, t } from "../i18n.js";
import { format, parse } from "../money.js";
import * as scanner from "../scanner.js";
import { $, busy, refuse } from "../ui.js";

let reading = null; // {payload, dynamic, amount}

function start() {
  scanner.stop();
  reading = null;
  $("pay-scan").hidden = false;
  $("pay-confirm").hidden = true;
  $("pay-confirm").reset();
  $("pay-receipt").hidden = true;
}

function present(payload, code) {
  reading = { payload, dynamic: code.dynamic, amount: code.amount };
  $("pay-payee").textContent = code.payee.name;
  const kind = `payee.${code.payee.kind}`;
  $("pay-number").textContent = known(kind) ? t(kind, code.payee) : code.payee.number;
  $("pay-reference").textContent = code.reference ? t("pay.reference", code) : "";
  const fixed = code.dynamic && Number.isSafeInteger(code.amount);
  $("pay-amount-fixed").textContent = fixed ? format(code.amount) : "";
  $("pay-amount-fixed").hidden = !fixed;
  $("pay-amount").hidden = fixed;
  $("pay-amount-label").hidden = fixed;
  $("pay-amount").required = !fixed;
  $("pay-scan").hidden = true;
  $("pay-confirm").hidden = false;
  (fixed ? $("pay-pin") : $("pay-amount")).focus();
}

async function read(payload) {
  refuse("pay", null);
  if (!payload) return;
  try {
    present(payload, await api.signed("POST", "/codes/read", { payload }));
  } catch (error) {
    refuse("pay", error);
  }
}

async function pay() {
  refuse("pay", null);
  const body = { payload: reading.payload, pin: $("pay-pin").value };
  $("pay-pin").value = "";
  if (!reading.dynamic) {
    body.amount = parse($("pay-amount").value);
    if (body.amount === null) {
      refuse("pay", { code: "amount_invalid" });
      return;
    }
  }
  try {
    const done = await api.signed("POST", "/pay", body);
    $("pay-receipt-text").textContent = t("pay.paid", {
      amount: format(done.amount),
      name: done.payee && typeof done.payee === "object" ? done.payee.name : done.payee,
    });
    $("pay-receipt-id").textContent = t("pay.receipt", { receipt: done.receipt });
    $("pay-confirm").hidden = true;
    $("pay-receipt").hidden = false;
    reading = null;
  } catch (error) {
    refuse("pay", error);
    // The code itself was refused: PIN or amount cannot help, go back to scanning.
    if (error.code && error.code.startsWith("qr_")) start();
  }
}

/** Wire the pay screen. */
export function init() {
  $("pay-camera").addEventListener("click", async () => {
    refuse("pay", null);
    try {
      const payload = await scanner.scan($("pay-video"));
      await read(payload);
    } catch (error) {
      scanner.stop();
      refuse("pay", { code: "camera", message: error && error.message });
    }
  });
  $("pay-paste").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("pay-paste").querySelector("button"), () =>
      read($("pay-payload").value.trim()),
    );
  });
  $("pay-confirm").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("pay-confirm").querySelector("button"), pay);
  });
  $("pay-cancel").addEventListener("click", () => {
    refuse("pay", null);
    start();
  });
  $("pay-again").addEventListener("click", () => {
    $("pay-payload").value = "";
    start();
  });
}

/** Leaving the screen: the camera goes off. */
export function leave() {
  scanner.stop();
}
