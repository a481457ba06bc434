// English and Swahili: the strings of lang/<language>.json, and the switch.
//
// A refusal shows our translation of its stable `code`; a code we have no words for
// shows the server's own message (English), never nothing.

export const LANGUAGES = ["en", "sw"];
const KEPT = "mkoba.language";

let language = "en";
let strings = {};
const changed = [];

/** Run `hook` after each change of language (to redo texts made from data). */
export function onChange(hook) {
  changed.push(hook);
}

function lookup(key) {
  return key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), strings);
}

/** The string `key` in the current language, `{name}` replaced from `values`. */
export function t(key, values = {}) {
  const text = lookup(key);
  if (typeof text !== "string") return key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** Whether there are words for `key` in the current language. */
export function known(key) {
  return typeof lookup(key) === "string";
}

/** What to show for a refusal (an api.Refused, or any error). */
export function refusalText(error) {
  const own = error && typeof error.code === "string" ? lookup(`errors.${error.code}`) : undefined;
  if (typeof own === "string") {
    const text = t(`errors.${error.code}`, error.details ?? {});
    // "Not valid" alone does not say what: the server's message names the field.
    return error.code === "invalid_input" && error.message ? `${text} (${error.message})` : text;
  }
  if (error && error.message) return error.message;
  return t("errors.unknown");
}

/** The language now shown. */
export function current() {
  return language;
}

/** Put the strings into every element marked data-i18n (text) under `root`. */
export function apply(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  document.documentElement.lang = language;
  const other = LANGUAGES.find((code) => code !== language);
  const button = document.getElementById("language");
  button.textContent = t(`language.${other}`);
  button.setAttribute("aria-label", t("language.switch"));
}

/** Show `code` (en or sw) from now on; `remember` when the person chose it. */
export async function use(code, remember = false) {
  const chosen = LANGUAGES.includes(code) ? code : "en";
  const response = await fetch(new URL(`../lang/${chosen}.json`, import.meta.url));
  strings = await response.json();
  language = chosen;
  if (remember) localStorage.setItem(KEPT, chosen);
  apply();
  for (const hook of changed) hook();
}

/** The language to start in: the one chosen before, else the phone's. */
export function initial() {
  const kept = localStorage.getItem(KEPT);
  if (LANGUAGES.includes(kept)) return kept;
  return (navigator.language || "en").toLowerCase().startsWith("sw") ? "sw" : "en";
}
