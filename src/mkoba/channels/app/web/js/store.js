// The phone's memory: one IndexedDB object store of named values.
//
// IndexedDB, not localStorage, because a CryptoKey can be stored there as it is
// (structured clone) while its private half stays non-extractable: the key never
// exists as bytes this code could read or send.

const DB_NAME = "mkoba";
const STORE = "device";
const VERSION = 1;

let opened = null;

function open() {
  if (opened === null) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, VERSION);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opened;
}

async function run(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/** The value kept under `name`, or undefined. */
export function get(name) {
  return run("readonly", (store) => store.get(name));
}

/** Keep `value` under `name`. */
export function put(name, value) {
  return run("readwrite", (store) => store.put(value, name));
}

/** Forget everything this phone knew (the device key with it). */
export function clear() {
  return run("readwrite", (store) => store.clear());
}

/**
 * The next counter, kept before it is used: read, add one and write in one
 * transaction, so a counter is never handed out twice, even after a crash.
 */
export async function nextCounter() {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, "readwrite");
    const store = transaction.objectStore(STORE);
    let next = 0;
    const read = store.get("counter");
    read.onsuccess = () => {
      next = (read.result ?? 0) + 1;
      store.put(next, "counter");
    };
    transaction.oncomplete = () => resolve(next);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}
