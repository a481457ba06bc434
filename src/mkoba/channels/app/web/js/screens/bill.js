// Split a bill: the total, the friends (numbers, added and removed), equal shares (the
// server's rule: whole cents, the remainder to the first friends) or custom shares that
// must add up, a note and the PIN; then who has paid, from /bills/status.

import * as api from "../api.js";
import { onChange, t } from "../i18n.js";
import { format, parse } from "../money.js";
import { $, busy, refuse } from "../ui.js";
import { visitPin } from "../visit.js";
import { number, state } from "./request.js";

let pin = null; // visitPin("bill"), once init has run
let shown = null; // the number of the bill whose status is shown
let last = null; // its data, redrawn in a new language

/** Equal shares of `total` cents among `count`: the remainder cents to the first ones. */
export function equalShares(total, count) {
  const each = Math.floor(total / count);
  return Array.from({ length: count }, (_, index) => each + (index < total % count ? 1 : 0));
}

function custom() {
  return $("bill-custom").checked;
}

function friends() {
  return [...$("bill-friends").querySelectorAll("li")];
}

// Each friend's share as the app will send it (custom), or as the server will make it.
function shares() {
  const rows = friends();
  if (custom()) return rows.map((row) => parse(row.querySelector("input").value));
  const total = parse($("bill-total").value);
  if (total === null || rows.length === 0 || total < rows.length) return rows.map(() => null);
  return equalShares(total, rows.length);
}

// The words on each friend's row, in the current language.
function label(row) {
  const number = row.dataset.msisdn;
  row.querySelector("input").setAttribute("aria-label", t("bill.share_of", { number }));
  const remove = row.querySelector("button");
  remove.textContent = t("bill.remove");
  remove.setAttribute("aria-label", t("bill.remove_of", { number }));
}

function redraw() {
  const amounts = shares();
  friends().forEach((row, index) => {
    label(row);
    row.querySelector("input").hidden = !custom();
    row.querySelector(".share").textContent = custom() ? "" : format(amounts[index] ?? NaN);
  });
  const total = parse($("bill-total").value);
  const complete = amounts.every((amount) => amount !== null);
  const sum = complete ? amounts.reduce((a, b) => a + b, 0) : null;
  const summary = $("bill-sum");
  summary.hidden = !custom() || friends().length === 0;
  summary.textContent = t("bill.sum", { sum: format(sum ?? 0), total: format(total ?? 0) });
  summary.classList.toggle("mismatch", sum !== total);
}

function addFriend() {
  refuse("bill", null);
  const typed = number($("bill-friend").value);
  if (!/^\+?\d{9,15}$/.test(typed)) {
    refuse("bill", { code: "msisdn_invalid" });
    return;
  }
  const row = document.createElement("li");
  row.dataset.msisdn = typed;
  const who = document.createElement("span");
  who.textContent = typed;
  const share = document.createElement("span");
  share.className = "share";
  const amount = document.createElement("input");
  amount.inputMode = "decimal";
  amount.autocomplete = "off";
  amount.addEventListener("input", redraw);
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "plain";
  remove.addEventListener("click", () => {
    row.remove();
    redraw();
  });
  row.append(who, share, amount, remove);
  $("bill-friends").append(row);
  $("bill-friend").value = "";
  $("bill-friend").focus();
  redraw();
}

/** Who has paid: a bill's data as /bills/status (and /requests/mine) answer it. */
function status(bill) {
  shown = bill.number;
  last = bill;
  $("bill-status-text").textContent = t("bill.status", {
    number: bill.number,
    paid: format(bill.paid),
    total: format(bill.total),
    outstanding: format(bill.outstanding),
  });
  $("bill-status-list").replaceChildren(
    ...bill.friends.map((friend) => {
      const row = document.createElement("li");
      row.dataset.state = friend.state;
      row.dataset.msisdn = friend.other_msisdn;
      const who = `${friend.other} (${friend.other_msisdn})`;
      row.textContent = `${who}: ${format(friend.amount)} · ${state(friend.state)}`;
      return row;
    }),
  );
  $("bill-status").hidden = false;
}

async function refresh() {
  refuse("bill", null);
  const typed = await pin.get();
  if (typed === null || shown === null) return;
  try {
    status((await api.signed("POST", "/bills/status", { bill: shown, pin: typed })).data);
  } catch (error) {
    if (error.code === "wrong_pin" || error.code === "pin_locked") pin.forget();
    refuse("bill", error);
  }
}

async function split() {
  refuse("bill", null);
  const typed = $("bill-pin").value;
  $("bill-pin").value = "";
  const total = parse($("bill-total").value);
  if (total === null) {
    refuse("bill", { code: "amount_invalid" });
    return;
  }
  if (friends().length === 0) {
    refuse("bill", { code: "friends_missing" });
    return;
  }
  const amounts = custom() ? shares() : [];
  if (amounts.some((amount) => amount === null)) {
    refuse("bill", { code: "amount_invalid" });
    return;
  }
  if (custom() && amounts.reduce((a, b) => a + b, 0) !== total) {
    refuse("bill", { code: "shares_sum", message: "" });
    return;
  }
  const body = {
    friends: friends().map((row) => row.dataset.msisdn),
    total,
    shares: amounts,
    note: $("bill-note").value.trim(),
    pin: typed,
  };
  try {
    const made = (await api.signed("POST", "/bills", body)).data;
    pin.keep(typed);
    $("bill-form").reset();
    $("bill-friends").replaceChildren();
    redraw();
    shown = made.bill;
    await refresh();
  } catch (error) {
    refuse("bill", error);
  }
}

/** Wire the split-a-bill screen. */
export function init() {
  pin = visitPin("bill", () => {
    shown = null;
    last = null;
    $("bill-status").hidden = true;
  });
  onChange(() => {
    redraw();
    if (last) status(last);
  });
  $("bill-add").addEventListener("click", addFriend);
  $("bill-friend").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    addFriend();
  });
  for (const id of ["bill-total", "bill-equal", "bill-custom"]) {
    $(id).addEventListener("input", redraw);
  }
  $("bill-form").addEventListener("submit", (event) => {
    event.preventDefault();
    busy(event.submitter || $("bill-split"), split);
  });
  $("bill-refresh").addEventListener("click", () => busy($("bill-refresh"), refresh));
}
