// Shared by every scenario script: the real nakama-js client, a timeout helper and the result
// collector. A script calls run(async (h) => { await h.scenario("name", async () => facts) }) and
// prints one JSON object {scenario: {ok, error?, ...facts}} that its pytest module reads.
"use strict";
globalThis.WebSocket = require("ws"); // Node 20 has no global WebSocket
const { Client } = require("@heroiclabs/nakama-js");
const crypto = require("crypto");

function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// A promise for the next call of socket[handler] (e.g. "onnotification") that satisfies `test`.
function next(socket, handler, test = () => true) {
  return new Promise((resolve) => {
    const previous = socket[handler];
    socket[handler] = (value) => {
      if (test(value)) { socket[handler] = previous; resolve(value); } else if (previous) { previous(value); }
    };
  });
}

function run(main) {
  const port = process.argv[2];
  const client = new Client("defaultkey", "127.0.0.1", port, false, 5000, false);
  const results = {};
  const h = {
    client,
    within,
    next,
    uid: () => crypto.randomUUID(),
    async scenario(name, fn) {
      try {
        results[name] = Object.assign({ ok: true }, (await fn()) || {});
      } catch (err) {
        let message = err && err.message ? err.message : String(err);
        if (err && typeof err.status === "number") {
          message = `HTTP ${err.status}: ${await err.text().catch(() => "")}`;
        }
        results[name] = { ok: false, error: message };
      }
    },
  };
  main(h).then(
    () => { process.stdout.write(JSON.stringify(results) + "\n"); process.exit(0); },
    (err) => { console.error(err); process.exit(1); },
  );
}

module.exports = { run, within, next };
