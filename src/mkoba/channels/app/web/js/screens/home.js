// Home: who this phone pays as, the balance and mini statement (behind the PIN),
// and forgetting this phone.

import * as api from "../api.js";
import { known, t } from "../i18n.js";
import { format } from "../money.js";
import { $, askPin, busy, refuse, when } from "../ui.js";

// A statement line. The contract names `when`, `other` and `kind`; the server sends
// TranProc's own lines today (`at`, `description`): either is shown.
function statementRow(entry) {
  const row = document.createElement("tr");
  const kind = known(`kind.${entry.kind}`) ? t(`kind.${entry.kind}`) : entry.kind;
  const cells = [
    when(entry.when ?? entry.at),
    [entry.other ?? entry.description, kind].filter(Boolean).join(" · "),
    format(entry.amount),
  ];
  for (const text of cells) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  row.lastChild.className = "amount";
  row.title = entry.receipt ?? "";
  return row;
}

/** Hide the balance and statement: a payment has made them stale. */
export function stale() {
  $("home-balance-text").hidden = true;
  $("home-statement").hidden = true;
}

/** Show who this phone is. */
export function profile(who) {
  $("home-name").textContent = who.name ?? "";
  $("home-msisdn").textContent = who.msisdn ? `+${who.msisdn.replace(/^\+/, "")}` : "";
}

/** Wire the home screen; `unbound()` runs once this phone has forgotten itself. */
export function init(unbound) {
  $("home-balance").addEventListener("click", () =>
    busy($("home-balance"), async () => {
      refuse("home", null);
      const pin = await askPin();
      if (pin === null) return;
      try {
        const balance = await api.signed("POST", "/balance", { pin });
        $("home-balance-text").textContent = t("home.balance_is", {
          amount: format(balance.balance, balance.currency),
        });
        $("home-balance-text").hidden = false;
        const statement = await api.signed("POST", "/statement", { pin });
        const rows = $("home-statement").querySelector("tbody");
        rows.replaceChildren(...statement.entries.map(statementRow));
        $("home-statement").hidden = statement.entries.length === 0;
      } catch (error) {
        refuse("home", error);
      }
    }),
  );

  $("home-unbind").addEventListener("click", () =>
    busy($("home-unbind"), async () => {
      refuse("home", null);
      if (!window.confirm(t("home.unbind_sure"))) return;
      try {
        await api.signed("POST", "/unbind", {});
      } catch (error) {
        // Already ended on the server: forgetting it here is all that is left to do.
        if (!["binding_ended", "device_unknown"].includes(error.code)) {
          refuse("home", error);
          return;
        }
      }
      await unbound();
    }),
  );
}
