// The routes of docs/app-protocol.md, one request at a time.
//
// Signed requests go out strictly one after the other: the server refuses a counter
// that is not above the last it saw, so two requests racing could refuse each
// other. The queue holds until the answer's headers are in (for the notices
// stream, only that long; its body is read outside the queue).

import * as device from "./device.js";

export const BASE = "/app/api/v1";
const encoder = new TextEncoder();

/** A refusal: the contract's stable `code`, the server's English `message`, the status. */
export class Refused extends Error {
  constructor(code, message, status, details = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

let queue = Promise.resolve();

// Two tabs of the app share one device (one IndexedDB): a Web Lock keeps their
// requests in one line too, where the browser has Web Locks.
function exclusively(work) {
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request("mkoba-signed-requests", work);
  }
  return work();
}

function serially(work) {
  const run = () => exclusively(work);
  const turn = queue.then(run, run);
  queue = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}

async function refusal(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error;
  if (error && typeof error.code === "string") {
    const { code, message, ...details } = error;
    return new Refused(code, message || "", response.status, details);
  }
  return new Refused(`http_${response.status}`, response.statusText, response.status);
}

async function headersFor(method, path, body, signed) {
  if (!signed) return {};
  try {
    return await device.sign(method, BASE + path, body);
  } catch {
    throw new Refused("not_bound", "This phone is not set up.", 0);
  }
}

async function send(method, path, payload, signed, signal) {
  const body = method === "GET" ? new Uint8Array() : encoder.encode(JSON.stringify(payload ?? {}));
  const headers = await headersFor(method, path, body, signed);
  if (method !== "GET") headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: method === "GET" ? undefined : body,
      cache: "no-store",
      signal,
    });
  } catch {
    throw new Refused("network", "The server cannot be reached.", 0);
  }
  if (!response.ok) throw await refusal(response);
  return response;
}

/** An unsigned POST (enrolment), answering the JSON. */
export function post(path, payload) {
  return serially(async () => (await send("POST", path, payload, false)).json());
}

/** A signed request, answering the JSON. */
export function signed(method, path, payload) {
  return serially(async () => (await send(method, path, payload, true)).json());
}

/** A signed request whose answer is a stream: the Response, once its headers are in. */
export function stream(path, payload, signal) {
  return serially(() => send("POST", path, payload, true, signal));
}
