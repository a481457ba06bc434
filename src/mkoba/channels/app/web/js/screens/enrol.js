// Enrolment: the phone number, then the code the SMS brought and the wallet PIN;
// the device key is made here and only its public half is sent.

import * as api from "../api.js";
import * as device from "../device.js";
import { t } from "../i18n.js";
import { $, busy, refuse } from "../ui.js";

let enrolment = null;

function deviceName() {
  const platform = (navigator.userAgentData && navigator.userAgentData.platform) || "";
  return platform ? `${t("device_name")} (${platform})` : t("device_name");
}

function reset() {
  enrolment = null;
  $("enrol-confirm").reset();
  $("enrol-confirm").hidden = true;
  $("enrol-number").hidden = false;
}

/** Wire the enrolment screen; `bound(profile)` runs once this phone is bound. */
export function init(bound) {
  $("enrol-number").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || $("enrol-number").querySelector("button");
    busy(button, async () => {
      refuse("enrol", null);
      const msisdn = $("enrol-msisdn").value.trim();
      try {
        const answer = await api.post("/enrol", { msisdn });
        enrolment = answer.enrolment;
        $("enrol-sent").textContent = t("enrol.sent", {
          msisdn,
          minutes: Math.round((answer.expires_in || 300) / 60),
        });
        $("enrol-code").maxLength = answer.digits || 6;
        $("enrol-number").hidden = true;
        $("enrol-confirm").hidden = false;
        $("enrol-code").focus();
      } catch (error) {
        refuse("enrol", error);
      }
    });
  });

  $("enrol-confirm").addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || $("enrol-confirm").querySelector("button");
    busy(button, async () => {
      refuse("enrol", null);
      const pin = $("enrol-pin").value;
      $("enrol-pin").value = "";
      try {
        const publicKey = await device.makeKey();
        const answer = await api.post("/enrol/confirm", {
          enrolment,
          code: $("enrol-code").value.trim(),
          pin,
          public_key: publicKey,
          device_name: deviceName(),
        });
        await device.bind(answer.device, answer.counter);
        reset();
        await bound({ name: answer.name, msisdn: answer.msisdn });
      } catch (error) {
        refuse("enrol", error);
        // A dead enrolment cannot be confirmed any more: start again from the number.
        if (["otp_attempts", "otp_expired", "otp_unknown"].includes(error.code)) reset();
      }
    });
  });

  $("enrol-again").addEventListener("click", () => {
    refuse("enrol", null);
    reset();
  });
}
