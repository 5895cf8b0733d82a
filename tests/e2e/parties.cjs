// Parties with the real nakama-js client: create, join (open and closed), join requests,
// accept, promote, data, close, and errors that keep the socket open.
// Usage: node parties.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

run(async ({ client, within, next, uid, scenario }) => {
  async function connected(name) {
    const session = await client.authenticateCustom(`${name}-${uid()}`, true);
    const socket = client.createSocket(false, false);
    await socket.connect(session, false);
    return { session, socket };
  }

  await scenario("open_party", async () => {
    const a = await connected("lead");
    const b = await connected("mate");
    const party = await within(5000, "createParty", a.socket.createParty(true, 3));
    const bParty = next(b.socket, "onparty");
    const aSeesJoin = next(a.socket, "onpartypresence", (e) => (e.joins || []).some((p) => p.user_id === b.session.user_id));
    await within(5000, "joinParty", b.socket.joinParty(party.party_id));
    const pushed = await within(5000, "onparty", bParty);
    const joinEvent = await within(5000, "onpartypresence", aSeesJoin);
    const aLeft = next(a.socket, "onpartypresence", (e) => (e.leaves || []).length > 0);
    await within(5000, "leaveParty", b.socket.leaveParty(party.party_id));
    const leave = await within(5000, "leave event", aLeft);
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    return {
      party_id: party.party_id,
      open: party.open,
      max_size: party.max_size,
      self_is_leader: party.self.session_id === party.leader.session_id,
      creator: party.self.user_id === a.session.user_id,
      pushed_party_id: pushed.party_id,
      pushed_members: pushed.presences.map((p) => p.user_id),
      expected_members: [a.session.user_id, b.session.user_id],
      join_event_party: joinEvent.party_id,
      leaver: leave.leaves[0].user_id === b.session.user_id,
    };
  });

  await scenario("closed_party", async () => {
    const a = await connected("host");
    const b = await connected("guest");
    const party = await within(5000, "createParty", a.socket.createParty(false, 2));
    const request = next(a.socket, "onpartyjoinrequest");
    await within(5000, "joinParty", b.socket.joinParty(party.party_id));
    const asked = await within(5000, "onpartyjoinrequest", request);
    const listed = await within(5000, "listPartyJoinRequests", a.socket.listPartyJoinRequests(party.party_id));
    const bParty = next(b.socket, "onparty");
    await within(5000, "acceptPartyMember", a.socket.acceptPartyMember(party.party_id, asked.presences[0]));
    const joined = await within(5000, "onparty", bParty);

    const aLeader = next(a.socket, "onpartyleader");
    const bLeader = next(b.socket, "onpartyleader");
    const bPresence = joined.self;
    await within(5000, "promotePartyMember", a.socket.promotePartyMember(party.party_id, bPresence));
    const leaders = [await within(5000, "a onpartyleader", aLeader), await within(5000, "b onpartyleader", bLeader)];

    const data = next(a.socket, "onpartydata");
    await b.socket.sendPartyData(party.party_id, 5, "hello party");
    const got = await within(5000, "onpartydata", data);

    const aClose = next(a.socket, "onpartyclose");
    const bClose = next(b.socket, "onpartyclose");
    await within(5000, "closeParty", b.socket.closeParty(party.party_id));
    const closes = [await within(5000, "a onpartyclose", aClose), await within(5000, "b onpartyclose", bClose)];
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    return {
      open: party.open === undefined ? false : party.open,
      asked_user: asked.presences[0].user_id === b.session.user_id,
      listed_users: (listed.presences || []).map((p) => p.user_id === b.session.user_id),
      joined_members: joined.presences.length,
      joined_leader_is_a: joined.leader.user_id === a.session.user_id,
      new_leaders: leaders.map((l) => l.presence.user_id === b.session.user_id),
      data_op_code: got.op_code,
      data_text: new TextDecoder().decode(got.data),
      data_from_b: got.presence.user_id === b.session.user_id,
      closed: closes.map((c) => c.party_id === party.party_id),
    };
  });

  await scenario("errors_keep_the_socket", async () => {
    const a = await connected("lost");
    const errors = [];
    for (const attempt of [
      () => a.socket.joinParty(`${uid()}.nakama`),
      () => a.socket.joinParty("not-a-party"),
      () => a.socket.createParty(true, 0),
    ]) {
      try { await within(5000, "party request", attempt()); errors.push(null); } catch (err) { errors.push(err); }
    }
    const party = await within(5000, "createParty", a.socket.createParty(true, 2));
    let matchmaking = null;
    try { await within(5000, "addMatchmakerParty", a.socket.addMatchmakerParty(party.party_id, "*", 2, 4)); } catch (err) { matchmaking = err; }
    const rpc = await within(5000, "rpc after errors", a.socket.rpc("clientrpc.rpc", JSON.stringify({ still: "open" })));
    a.socket.disconnect(false);
    return { errors, matchmaking, rpc_payload: rpc.payload };
  });
});
