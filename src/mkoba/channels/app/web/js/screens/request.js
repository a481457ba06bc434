// Request money: ask a phone for an amount with a note (the tutor after a lesson), and
// the requests to me (pay or decline, each with the PIN) and from me. The lists sit
// behind the PIN: asked once per visit and kept only in memory (visit.js).

import * as api from "../api.js";
import { known, onChange, t } from "../i18n.js";
import { format, parse } from "../money.js";
import { $, askPin, busy, onShow, refuse, when } from "../ui.js";
import { visitPin } from "../visit.js";

let pin = null; // visitPin("request"), once init has run
let shown = null; // the lists last shown (/requests/mine's data), redrawn in a new language

/** A phone number as typed, without its spaces and dashes. */
export function number(text) {
  return text.replace(/[\s-]/g, "");
}

/** The state of a request in the current language (open, paid, declined, lapsed). */
export function state(name) {
  return known(`request.state.${name}`) ? t(`request.state.${name}`) : name;
}

function hideLists() {
  shown = null;
  $("request-lists").hidden = true;
  $("request-to-me").replaceChildren();
  $("request-from-me").replaceChildren();
}

function line(item) {
  const row = document.createElement("li");
  row.dataset.number = item.number;
  row.dataset.state = item.state;
  const who = document.createElement("p");
  const msisdn = item.other_msisdn ? ` (${item.other_msisdn})` : "";
  who.textContent = `${item.other}${msisdn}: ${format(item.amount)}`;
  const what = document.createElement("p");
  what.className = "muted";
  what.textContent = [item.note, state(item.state), when(item.created)].filter(Boolean).join(" · ");
  row.append(who, what);
  return row;
}

async function answer(button, path, done) {
  await busy(button, async () => {
    refuse("request", null);
    const typed = await askPin();
    if (typed === null) return;
    try {
      const reply = await api.signed("POST", path, { number: button.dataset.number, pin: typed });
      $("request-sent").textContent = done(reply);
      $("request-sent").hidden = false;
    } catch (error) {
      refuse("request", error);
      return;
    }
    await list(false);
  });
}

function payable(item) {
  const row = line(item);
  if (item.state !== "open") return row;
  const pay = document.createElement("button");
  pay.type = "button";
  pay.className = "pay";
  pay.dataset.number = item.number;
  pay.textContent = t("request.pay", { amount: format(item.amount) });
  pay.addEventListener("click", () =>
    answer(pay, "/requests/pay", (reply) =>
      t("request.paid", { amount: format(item.amount), name: item.other, receipt: reply.receipt }),
    ),
  );
  const decline = document.createElement("button");
  decline.type = "button";
  decline.className = "plain decline";
  decline.dataset.number = item.number;
  decline.textContent = t("request.decline");
  decline.addEventListener("click", () =>
    answer(decline, "/requests/decline", () => t("request.declined", { number: item.number })),
  );
  row.append(pay, decline);
  return row;
}

function draw(mine) {
  shown = mine;
  $("request-to-me").replaceChildren(...mine.to_me.map(payable));
  $("request-from-me").replaceChildren(...mine.from_me.map(line));
  $("request-to-me-empty").hidden = mine.to_me.length > 0;
  $("request-from-me-empty").hidden = mine.from_me.length > 0;
  $("request-lists").hidden = false;
}

async function list(clear = true) {
  if (clear) refuse("request", null);
  const typed = await pin.get();
  if (typed === null) return;
  try {
    draw((await api.signed("POST", "/requests/mine", { pin: typed })).data);
  } catch (error) {
    if (error.code === "wrong_pin" || error.code === "pin_locked") pin.forget();
    refuse("request", error);
  }
}

async function ask() {
  refuse("request", null);
  $("request-sent").hidden = true;
  const amount = parse($("request-amount").value);
  const typed = $("request-pin").value;
  $("request-pin").value = "";
  if (amount === null) {
    refuse("request", { code: "amount_invalid" });
    return;
  }
  const body = {
    payer: number($("request-payer").value),
    amount,
    note: $("request-note").value.trim(),
    pin: typed,
  };
  try {
    const reply = await api.signed("POST", "/requests", body);
    $("request-sent").textContent = t("request.sent", {
      amount: format(reply.data.amount),
      name: reply.data.payer_name,
      number: reply.data.number,
    });
    $("request-sent").hidden = false;
    $("request-form").reset();
    pin.keep(typed);
    if (!$("request-lists").hidden) await list(false);
  } catch (error) {
    refuse("request", error);
  }
}

/** Wire the request screen. */
export function init() {
  pin = visitPin("request", hideLists);
  $("request-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("request-form").querySelector("button"), ask);
  });
  $("request-show").addEventListener("click", () => busy($("request-show"), () => list()));
  onChange(() => shown && draw(shown));
  onShow("request", () => {
    refuse("request", null);
    $("request-sent").hidden = true;
  });
}
