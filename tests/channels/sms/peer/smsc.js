// An SMSC simulator for mkoba's SMPP tests and `mkoba bench sms`, on the npm `smpp` server.
//
// SMPP on SMSC_PORT (0: any free port), a control API over HTTP on CONTROL_PORT (0: any),
// both on 127.0.0.1. The first line on stdout is JSON: {"smpp": port, "control": port}.
//
// It accepts bind_transceiver with SMSC_USER / SMSC_PASS, answers submit_sm with a hex
// message_id and, when registered_delivery asks for it, sends a delivery receipt (deliver_sm,
// esm_class 0x04, receipted_message_id + message_state TLVs and the Appendix B text) after
// `receipt_delay_ms`. Behaviour for tests, set with POST /config (JSON, merged):
//   throttle_dests: [msisdn]       submit_sm to these answers 0x58 (ESME_RTHROTTLED)
//   throttle_per_s: n              past n submit_sm in one second, answer 0x58
//   lost_receipts: [msisdn]        never send a receipt for these
//   late_receipts: {msisdn: ms}    send the receipt this late
//   undeliverable: [msisdn]        receipt stat:UNDELIV (message_state 5)
//   resp_delay_ms: n               hold each submit_sm_resp this long (to see the ESME's window)
//   receipt_delay_ms: n            default 200
//   keep: bool                     keep every submitted message for GET /messages (default true)
// Control: GET /stats, GET /messages?dest=, POST /mo, POST /drop (cut every connection),
// POST /reset (counters and messages).
//   POST /mo {from, to, text} a phone's text; {from, to, hex, protocol_id, data_coding,
//     esm_class} a binary one (short_message = the hex's bytes, UDH included), e.g. SIM data.
//   GET /messages: each submitted message with its protocol_id, data_coding, esm_class, the
//     short_message as it came (hex, UDH included), its udh and, for texts, its text.
//   GET /messages/stream?protocol_id=: every message submitted from now on, pushed as it is
//     accepted, one JSON object a line (as GET /messages lists them; only those with that
//     protocol_id when given), until the client hangs up. Ask with HTTP/1.0 and read lines to
//     the end: no chunking. For `mkoba bench sim`, whose phones must not poll (keep: false
//     still streams).
'use strict';
const http = require('http');
const smpp = require('smpp');

const USER = process.env.SMSC_USER || 'esme1';
const PASS = process.env.SMSC_PASS || 'secret';
const sessions = new Set();

// node-smpp decodes short_message into {udh, message} (text for text codings): keep the
// octets as they came too, so tests can check binary messages byte for byte.
const decodeMessage = smpp.filters.message.decode;
smpp.filters.message.decode = function (value, skipUdh) {
  if (arguments.length === 1 && Buffer.isBuffer(value)) this.raw_short_message = value;
  return decodeMessage.call(this, value, skipUdh);
};
let nextId = 1;
let config = {};
let stats = {};
let messages = [];
const streams = new Set(); // {res, protocolId}: GET /messages/stream clients
const second = { at: 0, count: 0 };

function reset() {
  config = { throttle_dests: ['254700000444'], throttle_per_s: 0, lost_receipts: [], late_receipts: {},
    undeliverable: [], resp_delay_ms: 0, receipt_delay_ms: 200, keep: true };
  stats = { binds: 0, bind_failures: 0, submits: 0, throttled: 0, receipts: 0, receipt_acks: 0,
    mo: 0, mo_acks: 0, enquire_links: 0, unbinds: 0, outstanding: 0, max_outstanding: 0, drops: 0 };
  messages = [];
}
reset();

const two = n => String(n).padStart(2, '0');
const stamp = d => [d.getFullYear() % 100, d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes()].map(two).join('');

function throttled(pdu) {
  if (config.throttle_dests.includes(pdu.destination_addr)) return true;
  if (!config.throttle_per_s) return false;
  const now = Math.floor(Date.now() / 1000);
  if (second.at !== now) { second.at = now; second.count = 0; }
  second.count += 1;
  return second.count > config.throttle_per_s;
}

function receipt(session, pdu, id) {
  const dest = pdu.destination_addr;
  if (config.lost_receipts.includes(dest)) return;
  const undeliverable = config.undeliverable.includes(dest);
  const delay = dest in config.late_receipts ? config.late_receipts[dest] : config.receipt_delay_ms;
  const submitted = new Date();
  setTimeout(() => {
    if (!sessions.has(session)) return;
    const stat = undeliverable ? 'UNDELIV' : 'DELIVRD';
    const text = `id:${id} sub:001 dlvrd:${undeliverable ? '000' : '001'} submit date:${stamp(submitted)}` +
      ` done date:${stamp(new Date())} stat:${stat} err:${undeliverable ? '001' : '000'} text:`;
    stats.receipts += 1;
    session.deliver_sm({ source_addr: dest, destination_addr: pdu.source_addr, esm_class: 0x04,
      receipted_message_id: id, message_state: undeliverable ? 5 : 2, short_message: text },
      () => { stats.receipt_acks += 1; });
  }, delay);
}

function onSubmit(session, pdu) {
  stats.submits += 1;
  stats.outstanding += 1;
  stats.max_outstanding = Math.max(stats.max_outstanding, stats.outstanding);
  const answer = () => {
    stats.outstanding -= 1;
    if (!sessions.has(session)) return;
    if (throttled(pdu)) {
      stats.throttled += 1;
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    const id = (nextId++).toString(16).toUpperCase();
    session.send(pdu.response({ message_id: id }));
    if (config.keep || streams.size) {
      const sm = pdu.short_message || {};
      const message = { id, source: pdu.source_addr, dest: pdu.destination_addr, data_coding: pdu.data_coding,
        esm_class: pdu.esm_class, protocol_id: pdu.protocol_id, registered_delivery: pdu.registered_delivery,
        udh: sm.udh && sm.udh.length ? sm.udh[0].toString('hex') : '',
        hex: (pdu.raw_short_message || Buffer.alloc(0)).toString('hex'),
        text: typeof sm === 'string' ? sm : (typeof sm.message === 'string' ? sm.message : '') };
      if (config.keep) messages.push(message);
      if (streams.size) push(message);
    }
    if (pdu.registered_delivery & 1) receipt(session, pdu, id);
  };
  if (config.resp_delay_ms) setTimeout(answer, config.resp_delay_ms); else answer();
}

function push(message) {
  let line = null;
  streams.forEach(stream => {
    if (stream.protocolId !== null && stream.protocolId !== message.protocol_id) return;
    if (line === null) line = JSON.stringify(message) + '\n';
    stream.res.write(line);
  });
}

const server = smpp.createServer(session => {
  // Each PDU leaves at once, as an SMSC sends it: Nagle's algorithm would hold a deliver_sm
  // back until the ESME acknowledged the last segment (its delayed ACK: up to 40 ms).
  session.socket.setNoDelay(true);
  const onBind = pdu => {
    if (pdu.system_id !== USER || pdu.password !== PASS) {
      stats.bind_failures += 1;
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      return session.close();
    }
    stats.binds += 1;
    session.send(pdu.response({ system_id: 'MKOBASMSC' }));
    sessions.add(session);
  };
  ['bind_transceiver', 'bind_transmitter', 'bind_receiver'].forEach(c => session.on(c, onBind));
  session.on('enquire_link', pdu => { stats.enquire_links += 1; session.send(pdu.response()); });
  session.on('unbind', pdu => { stats.unbinds += 1; session.send(pdu.response()); session.close(); });
  session.on('submit_sm', pdu => onSubmit(session, pdu));
  session.on('close', () => sessions.delete(session));
  session.on('error', () => sessions.delete(session));
});

function body(req) {
  return new Promise(resolve => {
    let data = '';
    req.on('data', chunk => { data += chunk; });
    req.on('end', () => { try { resolve(data ? JSON.parse(data) : {}); } catch (e) { resolve({}); } });
  });
}

function moFields(mo) {
  const fields = { source_addr: mo.from, destination_addr: mo.to };
  fields.short_message = typeof mo.hex === 'string' ? Buffer.from(mo.hex, 'hex') : mo.text;
  ['protocol_id', 'data_coding', 'esm_class'].forEach(key => { if (key in mo) fields[key] = mo[key]; });
  return fields;
}

const control = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  // With its length (not chunked): a lean keep-alive client (the SIM bench's phones) reads it.
  const reply = (status, value) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method === 'GET' && url.pathname === '/stats') return reply(200, { ...stats, sessions: sessions.size });
  if (req.method === 'GET' && url.pathname === '/messages') {
    const dest = url.searchParams.get('dest');
    return reply(200, dest ? messages.filter(m => m.dest === dest) : messages);
  }
  if (req.method === 'GET' && url.pathname === '/messages/stream') {
    const wanted = url.searchParams.get('protocol_id');
    const stream = { res, protocolId: wanted === null ? null : Number(wanted) };
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.flushHeaders();
    streams.add(stream);
    res.on('close', () => streams.delete(stream));
    return undefined;
  }
  if (req.method === 'POST' && url.pathname === '/config') { Object.assign(config, await body(req)); return reply(200, config); }
  if (req.method === 'POST' && url.pathname === '/reset') { reset(); return reply(200, config); }
  if (req.method === 'POST' && url.pathname === '/drop') {
    stats.drops += 1;
    sessions.forEach(s => s.socket.destroy());
    sessions.clear();
    return reply(200, { dropped: true });
  }
  if (req.method === 'POST' && url.pathname === '/mo') {
    const mo = await body(req);
    const delivered = [];
    sessions.forEach(s => {
      stats.mo += 1;
      s.deliver_sm(moFields(mo),
        pdu => { stats.mo_acks += 1; delivered.push(pdu.command_status); });
    });
    return reply(200, { sessions: sessions.size });
  }
  return reply(404, { error: 'no such control' });
});

server.listen(+(process.env.SMSC_PORT || 0), '127.0.0.1', () => {
  control.listen(+(process.env.CONTROL_PORT || 0), '127.0.0.1', () => {
    console.log(JSON.stringify({ smpp: server.address().port, control: control.address().port }));
  });
});
process.on('SIGTERM', () => { sessions.forEach(s => s.socket.destroy()); process.exit(0); });
