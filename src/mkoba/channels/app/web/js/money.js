// Money at the edge: integer minor units (cents) in, text out, and back. No floats.

const CURRENCY_SYMBOL = { KES: "Ksh" };

/** "Ksh1,234.50" for 123450 cents. */
export function format(minor, currency = "KES") {
  if (!Number.isSafeInteger(minor)) return "";
  const sign = minor < 0 ? "-" : "";
  const cents = Math.abs(minor);
  const whole = Math.trunc(cents / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (cents % 100).toString().padStart(2, "0");
  return `${sign}${CURRENCY_SYMBOL[currency] ?? currency + " "}${whole}.${fraction}`;
}

/**
 * Cents from what a person typed ("150", "1,500.5", "99.99"), or null if it is not a
 * positive amount with at most two decimals.
 */
export function parse(text) {
  const found = /^\s*(?:ksh\s*)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*$/i.exec(text);
  if (found === null) return null;
  const whole = Number.parseInt(found[1].replace(/,/g, ""), 10);
  const cents = Number.parseInt((found[2] ?? "0").padEnd(2, "0"), 10);
  const minor = whole * 100 + cents;
  return Number.isSafeInteger(minor) && minor > 0 ? minor : null;
}
