// The page's furniture: screens, refusals, toasts, the PIN dialog, busy buttons.

import { refusalText, t } from "./i18n.js";

const SCREENS = ["enrol", "home", "receive", "pay", "notices", "paycode", "charge"];
const shownHooks = new Map();

/** The element with this id. */
export function $(id) {
  return document.getElementById(id);
}

/** Run `hook` each time screen `name` is shown. */
export function onShow(name, hook) {
  shownHooks.set(name, hook);
}

/** Show screen `name` (and the tabs, once the phone is set up). */
export function show(name) {
  for (const screen of SCREENS) $(`screen-${screen}`).hidden = screen !== name;
  $("tabs").hidden = name === "enrol";
  for (const tab of document.querySelectorAll("#tabs [data-go]")) {
    if (tab.dataset.go === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  document.body.dataset.screen = name;
  const hook = shownHooks.get(name);
  if (hook) hook();
}

/** Show (or clear, with null) the refusal on screen `name`. */
export function refuse(name, error) {
  const box = $(`screen-${name}`).querySelector(".refusal");
  if (error === null) {
    box.hidden = true;
    box.textContent = "";
    delete box.dataset.code;
    return;
  }
  box.textContent = refusalText(error);
  box.dataset.code = (error && error.code) || "unknown";
  box.hidden = false;
}

/** A short message at the bottom that goes away by itself. */
export function toast(text) {
  const note = document.createElement("div");
  note.className = "toast";
  note.setAttribute("role", "status");
  note.textContent = text;
  $("toasts").append(note);
  setTimeout(() => note.remove(), 6000);
}

/** Ask for the PIN in a dialog: the PIN, or null if cancelled. */
export function askPin() {
  const dialog = $("pin-dialog");
  const input = $("pin-dialog-pin");
  input.value = "";
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const pin = input.value;
        input.value = "";
        resolve(dialog.returnValue === "ok" && pin ? pin : null);
      },
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

/** Disable `button` while `work` runs (no double payments from a double tap). */
export async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}

/** When (a date) as the phone's clock shows it, in the current language. */
export function when(value) {
  const date = toDate(value);
  if (date === null) return "";
  return date.toLocaleString(t("locale"), { dateStyle: "short", timeStyle: "short" });
}

/** A Date from what the server sent: ISO 8601 text or seconds since 1970. */
export function toDate(value) {
  if (typeof value === "number") return new Date(value * 1000);
  if (typeof value !== "string") return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
