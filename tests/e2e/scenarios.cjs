// The core scenarios (authentication, account, RPC, streams) with the real nakama-js client.
// Usage: node scenarios.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

run(async ({ client, within, uid, scenario }) => {
  let device;
  await scenario("device_auth", async () => {
    const id = "device-" + uid();
    device = await client.authenticateDevice(id, true, "dev_" + id.slice(7, 15));
    const again = await client.authenticateDevice(id, true);
    return { created: device.created, again_created: again.created, same_user: again.user_id === device.user_id, user_id: device.user_id, username: device.username, has_refresh: !!device.refresh_token };
  });
  await scenario("custom_auth", async () => {
    const s = await client.authenticateCustom("custom-" + uid(), true);
    return { created: s.created, user_id: s.user_id, username: s.username };
  });
  await scenario("email_auth", async () => {
    const email = `player-${uid()}@example.com`;
    const s = await client.authenticateEmail(email, "password123", true);
    const again = await client.authenticateEmail(email, "password123", false);
    let wrong = null;
    try { await client.authenticateEmail(email, "wrong-password", false); } catch (err) { wrong = err.status; }
    return { created: s.created, same_user: again.user_id === s.user_id, wrong_password_status: wrong };
  });
  await scenario("refresh", async () => {
    const refreshed = await client.sessionRefresh(device);
    return { same_user: refreshed.user_id === device.user_id, new_token: typeof refreshed.token === "string" && refreshed.token.length > 0 };
  });
  await scenario("account", async () => {
    const account = await client.getAccount(device);
    return { user_id: account.user.id, username: account.user.username, same_user: account.user.id === device.user_id };
  });
  await scenario("http_rpc_session", async () => {
    const res = await client.rpc(device, "clientrpc.rpc", { hello: "world" });
    return { payload: res.payload };
  });
  await scenario("http_rpc_http_key", async () => {
    const res = await client.rpcHttpKey("defaulthttpkey", "clientrpc.rpc_get");
    return { payload: res.payload };
  });
  await scenario("socket_rpc", async () => {
    const socket = client.createSocket(false, false);
    await socket.connect(device, true);
    const res = await within(5000, "socket rpc", socket.rpc("clientrpc.rpc", JSON.stringify({ hello: "socket" })));
    socket.disconnect(false);
    return { id: res.id, payload: res.payload };
  });
  await scenario("stream_data", async () => {
    const socket = client.createSocket(false, false);
    const presence = new Promise((resolve) => { socket.onstreampresence = resolve; });
    const data = new Promise((resolve) => { socket.onstreamdata = resolve; });
    await socket.connect(device, false);
    const payload = JSON.stringify({ hello: "world" });
    await within(5000, "rpc reply", socket.rpc("clientrpc.send_stream_data", payload));
    const ev = await within(5000, "stream presence event", presence);
    const sd = await within(5000, "stream data", data);
    socket.disconnect(false);
    return {
      join_user_id: ev.joins && ev.joins[0] && ev.joins[0].user_id,
      own_user_id: device.user_id,
      leaves: ev.leaves === undefined ? null : ev.leaves,
      mode: sd.stream.mode,
      label: sd.stream.label,
      data_equal: sd.data === payload,
    };
  });
  await scenario("logout", async () => {
    const s = await client.authenticateCustom("logout-" + uid(), true);
    await client.sessionLogout(s, s.token, s.refresh_token);
    let refreshStatus = null;
    try { await client.sessionRefresh(s); } catch (err) { refreshStatus = err.status; }
    return { refresh_after_logout_status: refreshStatus };
  });
});
