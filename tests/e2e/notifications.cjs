// Notifications and status with the real nakama-js client: a live notification from an RPC,
// listing and deleting stored ones, the seed's silent mode, and following a user's status.
// Usage: node notifications.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

run(async ({ client, within, next, uid, scenario }) => {
  async function connected(name, status = false) {
    const session = await client.authenticateCustom(`${name}-${uid()}`, true);
    const socket = client.createSocket(false, false);
    await socket.connect(session, status);
    return { session, socket };
  }

  await scenario("notifications", async () => {
    const a = await connected("notified");
    const live = next(a.socket, "onnotification");
    await within(5000, "notify_me", a.socket.rpc("notify_me", JSON.stringify({ subject: "welcome", content: { gift: 5 }, persistent: true })));
    const pushed = await within(5000, "onnotification", live);
    const listed = await client.listNotifications(a.session, 10);
    await client.deleteNotifications(a.session, listed.notifications.map((n) => n.id));
    const after = await client.listNotifications(a.session, 10, listed.cacheable_cursor);
    const fromStart = await client.listNotifications(a.session, 10);
    a.socket.disconnect(false);
    return {
      subject: pushed.subject, content: pushed.content, persistent: pushed.persistent,
      listed: listed.notifications.map((n) => ({ id: n.id, subject: n.subject, content: n.content })),
      pushed_id: pushed.id, cursor: listed.cacheable_cursor, after: after.notifications.length,
      left: fromStart.notifications.length,
    };
  });

  await scenario("silent_mode", async () => {
    const a = await connected("silent");
    let heard = 0;
    a.socket.onnotification = () => { heard += 1; };
    await within(5000, "enable_silent_mode", a.socket.rpc("enable_silent_mode", ""));
    await within(5000, "notify_me", a.socket.rpc("notify_me", JSON.stringify({ subject: "quiet", persistent: true })));
    await within(5000, "rpc after", a.socket.rpc("notify_me", JSON.stringify({ subject: "quiet too", persistent: true })));
    const listed = await client.listNotifications(a.session, 10);
    a.socket.disconnect(false);
    return { heard, stored: listed.notifications.map((n) => n.subject) };
  });

  await scenario("status", async () => {
    const watcher = await connected("watcher");
    const star = await connected("star", true);
    const followed = await within(5000, "followUsers", watcher.socket.followUsers([star.session.user_id]));
    const update = next(watcher.socket, "onstatuspresence", (e) => (e.joins || []).some((p) => p.status === "on stage"));
    await within(5000, "updateStatus", star.socket.updateStatus("on stage"));
    const changed = await within(5000, "onstatuspresence", update);
    await within(5000, "unfollowUsers", watcher.socket.unfollowUsers([star.session.user_id]));
    let after = 0;
    watcher.socket.onstatuspresence = () => { after += 1; };
    await within(5000, "updateStatus", star.socket.updateStatus("backstage"));
    await within(5000, "ping", watcher.socket.rpc("enable_silent_mode", ""));  // a round trip after the update
    star.socket.disconnect(false);
    watcher.socket.disconnect(false);
    return {
      followed: (followed.presences || []).map((p) => ({ user_id: p.user_id, status: p.status })),
      star: star.session.user_id,
      joins: changed.joins.map((p) => ({ user_id: p.user_id, status: p.status })),
      leaves: (changed.leaves || []).map((p) => p.status),
      after_unfollow: after,
    };
  });
});
