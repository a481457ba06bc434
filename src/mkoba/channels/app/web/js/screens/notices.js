// Notices: every payment this phone hears of while the app is open, newest first.

import { onChange, t } from "../i18n.js";
import { format } from "../money.js";
import { $ } from "../ui.js";

const KEPT_MAX = 50;

/** The sentence for a payment notice. */
export function describe(notice) {
  const values = { amount: format(notice.amount), name: notice.other, receipt: notice.receipt };
  if (notice.kind === "request") {
    const key = notice.note ? "notices.request" : "notices.request_plain";
    return t(key, { ...values, number: notice.number, note: notice.note });
  }
  return t(notice.direction === "in" ? "notices.in" : "notices.out", values);
}

/** Add a notice at the top of the list. */
export function add(notice) {
  const item = document.createElement("li");
  item.textContent = describe(notice);
  item.dataset.receipt = notice.receipt ?? "";
  $("notices-list").prepend(item);
  while ($("notices-list").children.length > KEPT_MAX) $("notices-list").lastChild.remove();
  $("notices-empty").hidden = true;
}

let last = null;
onChange(() => last && state(...last));

/** Say whether the stream is live or waiting to reconnect. */
export function state(now, seconds = 0) {
  last = [now, seconds];
  $("notices-state").textContent =
    now === "live" ? t("notices.live") : t("notices.waiting", { seconds });
  $("notices-state").dataset.state = now;
}
