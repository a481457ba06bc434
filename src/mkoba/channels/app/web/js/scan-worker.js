// Decodes camera frames off the page's thread, with the vendored jsQR (vendor/VENDOR.md).
/* global jsQR */
importScripts("../vendor/jsQR.js");

self.onmessage = (message) => {
  const { pixels, width, height } = message.data;
  const found = jsQR(pixels, width, height, { inversionAttempts: "attemptBoth" });
  // An empty read is a false find (a blank frame can look like finder patterns): keep looking.
  self.postMessage(found && found.data ? found.data : null);
};
