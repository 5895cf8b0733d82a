// Friends, groups and users with the real nakama-js client: every endpoint family of issue 16.
// Usage: node social.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

async function failure(promise) {
  try {
    await promise;
  } catch (err) {
    if (err && typeof err.status === "number") return { status: err.status, body: await err.json() };
    throw err;
  }
  throw new Error("expected the call to fail");
}

run(async ({ client, within, next, uid, scenario }) => {
  const tag = uid().slice(0, 8);
  const player = (name) => client.authenticateCustom(`${name}-${uid()}`, true, `${name}${tag}`);

  await scenario("friends", async () => {
    const a = await player("alice");
    const b = await player("bob");
    const c = await player("carol");
    const socket = client.createSocket(false, false);
    await socket.connect(b, false);
    const pushed = next(socket, "onnotification");
    await client.addFriends(a, [b.user_id], [c.username]);
    const request = await within(5000, "friend request push", pushed);
    const invited = await client.listFriends(a);
    await client.addFriends(b, [], [a.username]); // accept
    const mutual = await client.listFriends(a, 0);
    const page = await client.listFriends(a, undefined, 1);
    const rest = await client.listFriends(a, undefined, 1, page.cursor);
    const self = await failure(client.addFriends(a, [a.user_id]));
    await client.deleteFriends(a, [], [c.username]);
    await client.blockFriends(b, [a.user_id]);
    const afterBlock = await client.listFriends(a);
    const blocked = await client.listFriends(b, 3);
    const users = await client.getUsers(a, [b.user_id], [c.username]);
    socket.disconnect(false);
    return {
      request: [request.code, request.subject, request.content.username, request.sender_id === a.user_id],
      invited: invited.friends.map((f) => [f.user.username, f.state]).sort(),
      expected_invited: [[b.username, 1], [c.username, 1]].sort(),
      mutual: mutual.friends.map((f) => [f.user.id, f.state]),
      b_id: b.user_id,
      paged: [...page.friends, ...rest.friends].map((f) => f.user.id).sort(),
      expected_paged: [b.user_id, c.user_id].sort(),
      last_cursor: rest.cursor === undefined,
      self,
      after_block: afterBlock.friends.length,
      blocked: blocked.friends.map((f) => [f.user.id, f.state]),
      a_id: a.user_id,
      users: users.users.map((u) => u.username).sort(),
      expected_users: [b.username, c.username].sort(),
    };
  });

  await scenario("groups", async () => {
    const owner = await player("owner");
    const joiner = await player("joiner");
    const added = await player("added");
    const name = `Guild ${tag}`;
    const group = await client.createGroup(owner, { name, description: "we", open: true, max_count: 10 });
    await client.updateGroup(owner, group.id, { name: `${name} II`, lang_tag: "de" });
    await client.joinGroup(joiner, group.id);
    await client.addGroupUsers(owner, group.id, [added.user_id]);
    const members = await client.listGroupUsers(owner, group.id);
    const notAdmin = await failure(client.kickGroupUsers(added, group.id, [owner.user_id]));
    const lastAdmin = await failure(client.leaveGroup(owner, group.id));
    await client.promoteGroupUsers(owner, group.id, [joiner.user_id]);
    const promoted = await client.listGroupUsers(owner, group.id, 1);
    await client.demoteGroupUsers(owner, group.id, [joiner.user_id]);
    await client.kickGroupUsers(owner, group.id, [added.user_id]);
    await client.banGroupUsers(owner, group.id, [joiner.user_id]);
    const banned = await client.listGroupUsers(owner, group.id, 4);
    const left = await client.listGroupUsers(owner, group.id);
    const mine = await client.listUserGroups(owner, owner.user_id);
    const listed = await client.listGroups(owner, `${name} II`);
    const taken = await failure(client.createGroup(joiner, { name: `${name} II` }));
    await client.joinGroup(added, group.id);
    await client.leaveGroup(added, group.id);
    await client.deleteGroup(owner, group.id);
    const gone = await client.listGroups(owner, `${name} II`);
    return {
      created: [group.name, group.open, group.edge_count, group.max_count, group.creator_id === owner.user_id],
      members: members.group_users.map((u) => [u.user.id, u.state]),
      ids: [owner.user_id, joiner.user_id, added.user_id],
      promoted: promoted.group_users.map((u) => u.user.id),
      banned: banned.group_users.map((u) => u.user.id),
      left: left.group_users.map((u) => u.user.id),
      mine: mine.user_groups.map((g) => [g.group.id === group.id, g.state, g.group.name, g.group.lang_tag]),
      listed: listed.groups.map((g) => [g.id === group.id, g.edge_count]),
      name,
      taken,
      not_admin: notAdmin,
      last_admin: lastAdmin,
      gone: gone.groups.length,
    };
  });
});
