// Accounts and wallets through nakama-js: updateAccount, then getAccount with the profile and
// the wallet that lua_modules/shop.lua filled from its RPCs.
"use strict";
const { run } = require("./harness.cjs");

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (err) { return { status: err.status, body: await err.json() }; }
}

run(async ({ client, uid, scenario }) => {
  const alice = await client.authenticateCustom("acct-" + uid().slice(0, 8), true);
  const bob = await client.authenticateCustom("acct-" + uid().slice(0, 8), true);
  const newName = "alice-" + uid().slice(0, 8);

  await scenario("update_account", async () => {
    const before = await client.getAccount(alice);
    const updated = await client.updateAccount(alice, {
      username: newName, display_name: "Alice", avatar_url: "https://example.com/a.png",
      lang_tag: "fr", location: "Lyon", timezone: "Europe/Paris",
    });
    const after = await client.getAccount(alice);
    const cleared = await client.updateAccount(alice, { display_name: "" });
    const last = await client.getAccount(alice);
    return { updated, before_wallet: before.wallet, user: after.user, cleared, last_display: last.user.display_name ?? null };
  });

  await scenario("update_refused", async () => {
    const bobAccount = await client.getAccount(bob);
    return {
      taken: await failure(client.updateAccount(alice, { username: bobAccount.user.username })),
      nothing: await failure(client.updateAccount(alice, {})),
      too_long: await failure(client.updateAccount(alice, { username: "x".repeat(129) })),
    };
  });

  await scenario("wallet_in_account", async () => {
    const daily = await client.rpc(bob, "shop.daily", {});
    const bought = await client.rpc(bob, "shop.buy", { item: "potion" });
    const short = await failure(client.rpc(bob, "shop.buy", { item: "sword" }));
    const account = await client.getAccount(bob);
    const history = await client.rpc(bob, "shop.history", {});
    return { daily: daily.payload, bought: bought.payload, short, wallet: JSON.parse(account.wallet),
             reasons: history.payload.entries.map((e) => e.metadata.reason) };
  });
});
