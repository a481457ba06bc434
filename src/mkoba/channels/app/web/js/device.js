// The device key and the request signature of docs/app-protocol.md.
//
// The key pair is ECDSA P-256, made by WebCrypto with extractable: false, so its
// private half can sign but never be exported; only the public half (SPKI) goes to
// the server, once, at enrolment.

import * as store from "./store.js";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING = { name: "ECDSA", hash: "SHA-256" };
const encoder = new TextEncoder();

/** base64url without padding, of bytes. */
export function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A new key pair for this phone, kept in IndexedDB; answers its public key (SPKI, base64url). */
export async function makeKey() {
  const pair = await crypto.subtle.generateKey(ALGORITHM, false, ["sign"]);
  await store.put("key", pair.privateKey);
  return base64url(await crypto.subtle.exportKey("spki", pair.publicKey));
}

/** The binding the server gave this phone (device id, counter 0), kept. */
export async function bind(device, counter) {
  await store.put("counter", counter);
  await store.put("device", device);
}

/** The device id this phone is bound as, or undefined. */
export function deviceId() {
  return store.get("device");
}

/** Forget the key, the binding and the counter. */
export function forget() {
  return store.clear();
}

/** The text a request's signature covers (the contract's six lines). */
export async function signedText(method, path, device, counter, body) {
  const digest = await crypto.subtle.digest("SHA-256", body);
  return ["mkoba-app-v1", method, path, device, String(counter), base64url(digest)].join("\n");
}

/**
 * The three headers of a signed request. The counter is taken (and kept) before
 * the request leaves, so a request that never arrives still uses its number up.
 */
export async function sign(method, path, body) {
  const device = await store.get("device");
  const key = await store.get("key");
  if (device === undefined || key === undefined) throw new Error("not_bound");
  const counter = await store.nextCounter();
  const text = await signedText(method, path, device, counter, body);
  // WebCrypto's ECDSA signature is already IEEE P1363 (r || s, 64 bytes), as the contract wants.
  const signature = await crypto.subtle.sign(SIGNING, key, encoder.encode(text));
  return {
    "Mkoba-Device": device,
    "Mkoba-Counter": String(counter),
    "Mkoba-Signature": base64url(signature),
  };
}
