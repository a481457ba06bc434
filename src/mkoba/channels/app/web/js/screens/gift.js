// Gift vouchers: buy one for any phone (its code goes to that phone by SMS), and use a
// gift sent to me with the SMS's code: into my wallet, or paying a till.

import * as api from "../api.js";
import { t } from "../i18n.js";
import { format, parse } from "../money.js";
import { $, busy, onShow, refuse } from "../ui.js";
import { number } from "./request.js";

function done(text) {
  $("gift-done").textContent = text;
  $("gift-done").hidden = false;
}

async function buy() {
  refuse("gift", null);
  $("gift-done").hidden = true;
  const typed = $("gift-buy-pin").value;
  $("gift-buy-pin").value = "";
  const amount = parse($("gift-amount").value);
  if (amount === null) {
    refuse("gift", { code: "amount_invalid" });
    return;
  }
  const to = number($("gift-to").value);
  try {
    const reply = await api.signed("POST", "/gifts", { to, amount, pin: typed });
    done(t("gift.bought", { amount: format(reply.data.amount), to, receipt: reply.receipt }));
    $("gift-buy").reset();
  } catch (error) {
    refuse("gift", error);
  }
}

async function use() {
  refuse("gift", null);
  $("gift-done").hidden = true;
  const typed = $("gift-use-pin").value;
  $("gift-use-pin").value = "";
  const body = { code: $("gift-code").value.replace(/\s/g, ""), pin: typed };
  if ($("gift-to-till").checked) body.till = $("gift-till").value.trim();
  try {
    const reply = await api.signed("POST", "/gifts/use", body);
    const amount = format(reply.data.amount);
    done(
      body.till
        ? t("gift.paid_till", { amount, till: body.till, receipt: reply.receipt })
        : t("gift.cashed", { amount, receipt: reply.receipt }),
    );
    $("gift-use").reset();
    till();
  } catch (error) {
    refuse("gift", error);
  }
}

// The till number is asked only when the gift pays a till.
function till() {
  const paying = $("gift-to-till").checked;
  $("gift-till").hidden = !paying;
  $("gift-till-label").hidden = !paying;
  $("gift-till").required = paying;
}

/** Wire the gift screen. */
export function init() {
  $("gift-buy").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("gift-buy").querySelector("button"), buy);
  });
  $("gift-use").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("gift-use").querySelector("button"), use);
  });
  for (const id of ["gift-to-wallet", "gift-to-till"]) $(id).addEventListener("change", till);
  onShow("gift", () => {
    refuse("gift", null);
    $("gift-done").hidden = true;
    till();
  });
}
