// Storage objects through nakama-js: writeStorageObjects, readStorageObjects,
// listStorageObjects, deleteStorageObjects, plus an RPC of lua_modules/saves.lua.
"use strict";
const { run } = require("./harness.cjs");

run(async ({ client, uid, scenario }) => {
  const alice = await client.authenticateCustom("store-" + uid().slice(0, 8), true);
  const bob = await client.authenticateCustom("store-" + uid().slice(0, 8), true);

  await scenario("write_read", async () => {
    const acks = await client.writeStorageObjects(alice, [
      { collection: "saves", key: "slot1", value: { hp: 10, items: ["sword"] }, permission_read: 2, permission_write: 1 },
      { collection: "saves", key: "slot2", value: { hp: 3 } },
    ]);
    const read = await client.readStorageObjects(alice, { object_ids: [
      { collection: "saves", key: "slot1", user_id: alice.user_id },
      { collection: "saves", key: "slot2", user_id: alice.user_id },
    ] });
    const byKey = Object.fromEntries(read.objects.map((o) => [o.key, o]));
    return {
      acks: acks.acks.map((a) => a.key), ack_user: acks.acks[0].user_id === alice.user_id,
      version: acks.acks[0].version, slot1: byKey.slot1.value, slot1_version: byKey.slot1.version,
      slot1_read: byKey.slot1.permission_read, slot2_read: byKey.slot2.permission_read,
    };
  });

  await scenario("occ", async () => {
    const first = await client.writeStorageObjects(alice, [{ collection: "occ", key: "k", value: { n: 1 }, version: "*" }]);
    let conflict = null;
    try {
      await client.writeStorageObjects(alice, [{ collection: "occ", key: "k", value: { n: 2 }, version: "*" }]);
    } catch (err) { conflict = { status: err.status, body: await err.json() }; }
    const second = await client.writeStorageObjects(alice, [
      { collection: "occ", key: "k", value: { n: 2 }, version: first.acks[0].version }]);
    return { conflict, changed: second.acks[0].version !== first.acks[0].version };
  });

  await scenario("list_and_permissions", async () => {
    const mine = await client.listStorageObjects(alice, "saves", alice.user_id, 10);
    const asBob = await client.listStorageObjects(bob, "saves", alice.user_id, 10);
    const publicPage = await client.listStorageObjects(bob, "saves", undefined, 1);
    const bobRead = await client.readStorageObjects(bob, { object_ids: [
      { collection: "saves", key: "slot1", user_id: alice.user_id },
      { collection: "saves", key: "slot2", user_id: alice.user_id },
    ] });
    return {
      mine: mine.objects.map((o) => o.key), as_bob: asBob.objects.map((o) => o.key),
      public_keys: publicPage.objects.map((o) => o.key), bob_reads: bobRead.objects.map((o) => o.key),
    };
  });

  await scenario("delete", async () => {
    const deleted = await client.deleteStorageObjects(alice, { object_ids: [{ collection: "saves", key: "slot2" }] });
    const after = await client.readStorageObjects(alice, { object_ids: [
      { collection: "saves", key: "slot2", user_id: alice.user_id }] });
    let missing = null;
    try {
      await client.deleteStorageObjects(alice, { object_ids: [{ collection: "saves", key: "slot2" }] });
    } catch (err) { missing = { status: err.status, body: await err.json() }; }
    return { deleted, left: after.objects.length, missing };
  });

  await scenario("lua_rpc", async () => {
    const put = await client.rpc(alice, "saves.put", { slot: "x", data: { level: 7 } });
    const got = await client.rpc(alice, "saves.get", { slot: "x" });
    return { put_version: put.payload.version, got: got.payload };
  });
});
