// A PIN asked once per visit of a screen, for reading lists behind it: kept only in
// this module's memory (never in storage), and forgotten when the screen is left or
// the app goes to the background.

import { $, askPin } from "./ui.js";

/** The PIN memory of screen `name`: `get()` asks once per visit, `forget()` drops it. */
export function visitPin(name, forgotten = () => undefined) {
  let pin = null;
  const forget = () => {
    pin = null;
    forgotten();
  };
  const screen = $(`screen-${name}`);
  new MutationObserver(() => screen.hidden && forget()).observe(screen, {
    attributes: true,
    attributeFilter: ["hidden"],
  });
  document.addEventListener("visibilitychange", () => document.hidden && forget());
  return {
    /** The PIN of this visit, asked if not yet: null if the person cancelled. */
    async get() {
      if (pin === null) pin = await askPin();
      return pin;
    },
    /** Keep a PIN the person has just typed on this screen (for this visit only). */
    keep(typed) {
      pin = typed || null;
    },
    forget,
  };
}
