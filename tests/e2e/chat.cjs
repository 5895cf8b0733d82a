// Chat with the real nakama-js client: joinChat for a room, a DM and a group; writeChatMessage,
// updateChatMessage, removeChatMessage, onchannelmessage, onchannelpresence, listChannelMessages
// with cursors, leaveChat, and errors that keep the socket open.
// Usage: node chat.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

run(async ({ client, within, next, uid, scenario }) => {
  const tag = uid().slice(0, 8);
  async function connected(name) {
    const session = await client.authenticateCustom(`${name}-${uid()}`, true, `${name}${tag}`);
    const socket = client.createSocket(false, false);
    await socket.connect(session, false);
    return { session, socket };
  }

  await scenario("room", async () => {
    const a = await connected("alice");
    const b = await connected("bob");
    const room = `lobby-${tag}`;
    const channel = await within(5000, "a joinChat", a.socket.joinChat(room, 1, true, false));
    const aSeesB = next(a.socket, "onchannelpresence", (e) => (e.joins || []).some((p) => p.user_id === b.session.user_id));
    const bChannel = await within(5000, "b joinChat", b.socket.joinChat(room, 1, true, false));
    const joinEvent = await within(5000, "join event", aSeesB);

    const bHears = next(b.socket, "onchannelmessage");
    const ack = await within(5000, "writeChatMessage", a.socket.writeChatMessage(channel.id, { text: "hello", n: 1 }));
    const heard = await within(5000, "onchannelmessage", bHears);
    const bUpdate = next(b.socket, "onchannelmessage", (m) => m.code === 1);
    const updated = await within(5000, "updateChatMessage", a.socket.updateChatMessage(channel.id, ack.message_id, { text: "edited" }));
    const heardUpdate = await within(5000, "update push", bUpdate);
    for (let n = 2; n <= 3; n++) await a.socket.writeChatMessage(channel.id, { n });

    const first = await client.listChannelMessages(b.session, channel.id, 2, true);
    const second = await client.listChannelMessages(b.session, channel.id, 2, true, first.next_cursor);
    const back = await client.listChannelMessages(b.session, channel.id, 2, true, second.prev_cursor);
    const newest = await client.listChannelMessages(b.session, channel.id, 1, false);

    const bRemove = next(b.socket, "onchannelmessage", (m) => m.code === 2);
    const removed = await within(5000, "removeChatMessage", a.socket.removeChatMessage(channel.id, ack.message_id));
    const heardRemove = await within(5000, "remove push", bRemove);
    const after = await client.listChannelMessages(b.session, channel.id, 10, true);

    const aSeesLeave = next(a.socket, "onchannelpresence", (e) => (e.leaves || []).length > 0);
    await within(5000, "leaveChat", b.socket.leaveChat(channel.id));
    const leave = await within(5000, "leave event", aSeesLeave);
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    return {
      channel_id: channel.id, room_name: channel.room_name, self_user: channel.self.user_id === a.session.user_id,
      b_sees_a: bChannel.presences.map((p) => p.user_id).includes(a.session.user_id) && joinEvent.channel_id === channel.id,
      ack_code: ack.code, ack_persistent: ack.persistent, ack_room: ack.room_name,
      heard: { content: heard.content, sender: heard.sender_id === a.session.user_id, id: heard.message_id === ack.message_id, username: heard.username },
      updated: { code: updated.code, same_create: updated.create_time === ack.create_time, content: heardUpdate.content },
      pages: [first.messages.map((m) => m.content), second.messages.map((m) => m.content), back.messages.map((m) => m.content)],
      cursors: [!!first.next_cursor, !!first.prev_cursor, !!second.next_cursor, !!second.prev_cursor],
      newest: newest.messages.map((m) => m.content),
      removed: { code: removed.code, pushed: heardRemove.code, content: heardRemove.content },
      after: after.messages.map((m) => m.content),
      left: leave.leaves[0].user_id === b.session.user_id,
    };
  });

  await scenario("direct", async () => {
    const a = await connected("ann");
    const b = await connected("ben");
    const invited = next(b.socket, "onnotification");
    const channel = await within(5000, "a joinChat DM", a.socket.joinChat(b.session.user_id, 2, true, false));
    const note = await within(5000, "DM invitation", invited);
    const bChannel = await within(5000, "b joinChat DM", b.socket.joinChat(a.session.user_id, 2, true, false));
    const aHears = next(a.socket, "onchannelmessage");
    await within(5000, "write DM", b.socket.writeChatMessage(bChannel.id, { text: "psst" }));
    const heard = await within(5000, "DM push", aHears);
    const listed = await client.listChannelMessages(a.session, channel.id, 10);
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    const ids = [a.session.user_id, b.session.user_id].sort();
    return {
      same_channel: channel.id === bChannel.id, users: [channel.user_id_one, channel.user_id_two], expected_users: ids,
      note: { code: note.code, subject: note.subject, username: note.content.username, sender: note.sender_id === a.session.user_id },
      heard: { content: heard.content, users: [heard.user_id_one, heard.user_id_two] },
      listed: listed.messages.map((m) => m.content),
    };
  });

  await scenario("group", async () => {
    const a = await connected("gina");
    const b = await connected("gus");
    const group = await client.createGroup(a.session, { name: `guild-${tag}`, open: true });
    await client.joinGroup(b.session, group.id);
    const channel = await within(5000, "a joinChat group", a.socket.joinChat(group.id, 3, true, false));
    await within(5000, "b joinChat group", b.socket.joinChat(group.id, 3, true, false));
    const aHears = next(a.socket, "onchannelmessage");
    await within(5000, "write group", b.socket.writeChatMessage(channel.id, { text: "for the guild" }));
    const heard = await within(5000, "group push", aHears);
    const listed = await client.listChannelMessages(a.session, channel.id, 10);
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    return {
      channel_id: channel.id, expected_id: `3.${group.id}..`, group_id: channel.group_id === group.id,
      heard: { content: heard.content, group_id: heard.group_id === group.id },
      codes: listed.messages.map((m) => m.code), joined_by_b: listed.messages[0].sender_id === b.session.user_id,
    };
  });

  await scenario("errors_keep_the_socket", async () => {
    const a = await connected("eve");
    const errors = [];
    for (const call of [
      () => a.socket.joinChat("", 1, true, false),
      () => a.socket.joinChat("nope", 2, true, false),
      () => a.socket.writeChatMessage("2...nowhere", { text: "x" }),
      () => a.socket.leaveChat("nowhere"),
    ]) {
      try {
        await within(5000, "failing call", call());
        errors.push(null);
      } catch (err) {
        errors.push(err);
      }
    }
    const still = await within(5000, "joinChat after errors", a.socket.joinChat(`open-${tag}`, 1, false, true));
    a.socket.disconnect(false);
    return { errors, still_open: still.room_name === `open-${tag}` && still.self.persistence === undefined };
  });
});
