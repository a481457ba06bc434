// Charge a code (the payee): type or scan the payer's pay code, the amount and a
// reference; the payer confirms on their phone; this screen asks until it is answered.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { format, parse } from "../money.js";
import * as scanner from "../scanner.js";
import { $, busy, refuse } from "../ui.js";

const POLL_MS = 2000;
const QR_PREFIX = "mkoba:pay:";
const FINAL = new Set(["paid", "declined", "lapsed"]);

let polling = null;

function stopPolling() {
  if (polling !== null) clearTimeout(polling);
  polling = null;
}

function outcome(state) {
  const text = t(`charge.${state.state}`, {
    amount: format(state.amount),
    receipt: state.receipt,
  });
  $("charge-state").textContent = text;
  $("charge-state").dataset.state = state.state;
  $("charge-state").hidden = false;
  $("charge-state").className = state.state === "paid" ? "done" : "muted";
}

async function poll(id) {
  polling = null;
  try {
    const state = await api.signed("POST", "/charges/status", { charge: id });
    outcome(state);
    if (FINAL.has(state.state)) {
      $("charge-form").reset();
      return;
    }
  } catch (error) {
    if (error.code !== "network" && error.code !== "system_busy") {
      refuse("charge", error);
      return;
    }
  }
  polling = setTimeout(() => poll(id), POLL_MS);
}

/** Leaving the screen: the camera goes off (a charge on its way is still asked after). */
export function leave() {
  scanner.stop();
}

/** Wire the charge screen. */
export function init() {
  $("charge-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || $("charge-form").querySelector("button[type=submit]");
    busy(button, async () => {
      refuse("charge", null);
      stopPolling();
      $("charge-state").hidden = true;
      const code = $("charge-code").value.replace(/\s/g, "");
      const amount = parse($("charge-amount").value);
      if (!/^[0-9]{8}$/.test(code)) {
        refuse("charge", { code: "paycode_digits" });
        return;
      }
      if (amount === null) {
        refuse("charge", { code: "amount_invalid" });
        return;
      }
      const reference = $("charge-reference").value.trim();
      try {
        const made = await api.signed("POST", "/paycodes/charge", { code, amount, reference });
        outcome(made);
        polling = setTimeout(() => poll(made.charge), POLL_MS);
      } catch (error) {
        refuse("charge", error);
      }
    });
  });
  $("charge-camera").addEventListener("click", async () => {
    refuse("charge", null);
    try {
      const text = await scanner.scan($("charge-video"));
      if (text.startsWith(QR_PREFIX)) $("charge-code").value = text.slice(QR_PREFIX.length);
      else refuse("charge", { code: "paycode_digits" });
      $("charge-amount").focus();
    } catch (error) {
      scanner.stop();
      refuse("charge", { code: "camera", message: error && error.message });
    }
  });
}
