// Matches with the real nakama-js client: relayed (createMatch, joinMatch, sendMatchState,
// onmatchdata, onmatchpresence, leaveMatch) and authoritative (an RPC calling nk.match_create,
// the shipped tic-tac-toe handler, listMatches).
// Usage: node matches.cjs <port>  -> prints one JSON object: {scenario: {ok, error?, ...facts}}
"use strict";
const { run } = require("./harness.cjs");

const text = (bytes) => new TextDecoder().decode(bytes);

run(async ({ client, within, next, uid, scenario }) => {
  const connect = async (prefix) => {
    const session = await client.authenticateCustom(`${prefix}-${uid()}`, true);
    const socket = client.createSocket(false, false);
    await socket.connect(session, false);
    return { session, socket };
  };

  await scenario("relayed", async () => {
    const a = await connect("relay-a");
    const b = await connect("relay-b");
    const match = await within(5000, "createMatch", a.socket.createMatch());
    const joinSeen = next(a.socket, "onmatchpresence", (e) => e.joins && e.joins.some((p) => p.user_id === b.session.user_id));
    const joined = await within(5000, "joinMatch", b.socket.joinMatch(match.match_id));
    await within(5000, "presence join", joinSeen);
    const data = next(a.socket, "onmatchdata");
    let echoed = false;
    b.socket.onmatchdata = () => { echoed = true; };
    await b.socket.sendMatchState(match.match_id, 7, "hello relay");
    const got = await within(5000, "match data", data);
    const leaveSeen = next(b.socket, "onmatchpresence", (e) => e.leaves && e.leaves.some((p) => p.user_id === a.session.user_id));
    await within(5000, "leaveMatch", a.socket.leaveMatch(match.match_id));
    const left = await within(5000, "presence leave", leaveSeen);
    a.socket.disconnect(false);
    b.socket.disconnect(false);
    return {
      match_id: match.match_id, created_size: match.size, authoritative: match.authoritative === true,
      joined_id: joined.match_id, joined_presences: joined.presences.map((p) => p.user_id), a_user: a.session.user_id,
      op_code: got.op_code, data: text(got.data), sender: got.presence.user_id, b_user: b.session.user_id,
      echoed, left_user: left.leaves[0].user_id,
    };
  });

  await scenario("authoritative", async () => {
    const x = await connect("ttt-x");
    const o = await connect("ttt-o");
    const find = async (p) => JSON.parse((await within(5000, "find rpc", p.socket.rpc("tictactoe_find", ""))).payload).match_id;
    const matchId = await find(x);
    const xStart = next(x.socket, "onmatchdata", (d) => d.op_code === 1);
    const joinedX = await within(5000, "join x", x.socket.joinMatch(matchId));
    const listed = await client.listMatches(x.session, 10, true, undefined, undefined, undefined, "+label.open:T");
    const sameId = await find(o);
    const oStart = next(o.socket, "onmatchdata", (d) => d.op_code === 1);
    const presence = next(x.socket, "onmatchpresence", (e) => e.joins && e.joins.some((p) => p.user_id === o.session.user_id));
    await within(5000, "join o", o.socket.joinMatch(matchId));
    const start = JSON.parse(text((await within(5000, "start x", xStart)).data));
    await within(5000, "start o", oStart);
    await within(5000, "presence", presence);
    // X takes the top row while O plays the middle row
    let last;
    for (const [p, position] of [[x, 0], [o, 3], [x, 1], [o, 4], [x, 2]]) {
      const update = next(x.socket, "onmatchdata", (d) => d.op_code === 2 || d.op_code === 3);
      await p.socket.sendMatchState(matchId, 4, JSON.stringify({ position }));
      last = await within(5000, "move " + position, update);
    }
    const result = last.op_code === 3 ? JSON.parse(text(last.data)) : {};
    await within(5000, "leave", o.socket.leaveMatch(matchId));
    x.socket.disconnect(false);
    o.socket.disconnect(false);
    return {
      match_id: matchId, same_id: sameId === matchId, authoritative: joinedX.authoritative === true, label: joinedX.label,
      marks: start.marks, x_user: x.session.user_id, o_user: o.session.user_id,
      listed: (listed.matches || []).map((m) => m.match_id), winner: result.winner, winner_user: result.winner_user_id, board: result.board,
    };
  });
});
