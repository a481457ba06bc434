// Just enough of the EMVCo payload to recognise a code again: its one-time token.
//
// The server reads and checks codes (POST /codes/read); the app only needs to know
// which of its own codes a payment notice is about. Objects are ID(2) LEN(2) VALUE.

function objects(text) {
  const found = new Map();
  let at = 0;
  while (at + 4 <= text.length) {
    const id = text.slice(at, at + 2);
    const length = Number.parseInt(text.slice(at + 2, at + 4), 10);
    if (!/^\d{2}$/.test(text.slice(at + 2, at + 4)) || at + 4 + length > text.length) break;
    found.set(id, text.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return found;
}

/** The one-time token of a dynamic code (template 80, object 02), or null. */
export function token(payload) {
  const ours = objects(payload).get("80");
  return ours === undefined ? null : objects(ours).get("02") ?? null;
}
