// The live notices: POST /events read with fetch and a stream reader (EventSource
// cannot sign), reconnected with a growing pause, until the binding ends.

import * as api from "./api.js";

const PAUSE_MS_MIN = 1000;
const PAUSE_MS_MAX = 30000;
// The binding is gone: reconnecting cannot help.
const FINAL = new Set(["binding_ended", "device_unknown", "not_bound"]);

let controller = null;

/** One server-sent event from its lines: {event, data} (data parsed as JSON if it can be). */
export function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return null;
  const text = data.join("\n");
  try {
    return { event, data: JSON.parse(text) };
  } catch {
    return { event, data: text };
  }
}

async function listen(signal, handlers) {
  const response = await api.stream("/events", {}, signal);
  handlers.state("live");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const found = parseEvent(block);
      if (found !== null && found.event === "payment") handlers.payment(found.data);
      if (found !== null && found.event === "charge" && handlers.charge) handlers.charge(found.data);
      if (found !== null && found.event === "request" && handlers.request) handlers.request(found.data);
    }
  }
}

/**
 * Listen until stop(): `handlers.payment(notice)` for each payment,
 * `handlers.state("live" | "waiting", seconds)`, `handlers.ended(refusal)` when the
 * binding has ended.
 */
export async function start(handlers) {
  stop();
  const mine = new AbortController();
  controller = mine;
  let pause = PAUSE_MS_MIN;
  while (!mine.signal.aborted) {
    const began = Date.now();
    try {
      await listen(mine.signal, handlers);
    } catch (error) {
      if (mine.signal.aborted) return;
      if (error && FINAL.has(error.code)) {
        controller = null;
        handlers.ended(error);
        return;
      }
    }
    if (mine.signal.aborted) return;
    // A connection that lasted a while was healthy: start the pauses again from the shortest.
    if (Date.now() - began > PAUSE_MS_MAX) pause = PAUSE_MS_MIN;
    handlers.state("waiting", Math.round(pause / 1000));
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, PAUSE_MS_MAX);
  }
}

/** Stop listening. */
export function stop() {
  if (controller !== null) controller.abort();
  controller = null;
}
