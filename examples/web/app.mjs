// The browser demo: device login, a chat room, a lobby of authoritative matches and
// tic-tac-toe, all through the real nakama-js (vendor/nakama-js.esm.mjs) against the nkhost
// that serves this page (`--web.static_dir examples/web`, then open /web/).
// The game's protocol is lua_modules/tictactoe.lua's: op codes below, JSON bodies.
import { Client } from "./vendor/nakama-js.esm.mjs";

const START = 1, UPDATE = 2, DONE = 3, MOVE = 4, REJECTED = 5;
const MARKS = ["", "X", "O"];
const ROOM = "lobby";

const params = new URLSearchParams(location.search);
const secure = location.protocol === "https:";
const client = new Client(params.get("key") || "defaultkey", location.hostname, location.port || (secure ? "443" : "80"), secure);
const $ = (id) => document.getElementById(id);

let session, socket, channelId, matchId, myMark = 0;

$("device").value = params.get("device") || localStorage.getItem("nkhost-demo-device") || crypto.randomUUID();

function show(error) {
  $("error").textContent = error instanceof Error ? error.message : String(error);
}

async function login() {
  const device = $("device").value.trim();
  localStorage.setItem("nkhost-demo-device", device);
  session = await client.authenticateDevice(device, true);
  socket = client.createSocket(secure, false);
  socket.onchannelmessage = (m) => say(`${m.username}: ${m.content.text}`);
  socket.onmatchdata = onMatchData;
  await socket.connect(session, true);
  channelId = (await socket.joinChat(ROOM, 1, false, false)).id;
  $("me").textContent = `logged in as ${session.username}`;
  $("me").dataset.userId = session.user_id;
  $("login-panel").querySelector("button").disabled = true;
  $("app").hidden = false;
  await refresh();
}

function say(line) {
  const li = document.createElement("li");
  li.textContent = line;
  $("chat-log").append(li);
  li.scrollIntoView({ block: "nearest" });
}

async function send(event) {
  event.preventDefault();
  const text = $("chat-input").value.trim();
  if (!text) return;
  $("chat-input").value = "";
  await socket.writeChatMessage(channelId, { text });
}

// The lobby is the match listing (GET /v2/match): authoritative matches whose label says a seat is free.
async function refresh() {
  const list = await client.listMatches(session, 20, true, "", 0, 2, "+label.open:T");
  const items = (list.matches || []).map((m) => {
    const li = document.createElement("li");
    li.dataset.matchId = m.match_id;
    const join = document.createElement("button");
    join.textContent = "Join";
    join.onclick = () => enter(m.match_id).catch(show);
    li.append(join, ` ${m.match_id} (${m.size}/2)`);
    return li;
  });
  $("matches").replaceChildren(...items);
}

async function create() {
  const reply = await socket.rpc("tictactoe_create", "");
  await enter(JSON.parse(reply.payload).match_id);
}

async function enter(id) {
  matchId = id; // before the join: the match's first message may come before the join's answer
  try {
    await socket.joinMatch(id);
  } catch (error) {
    matchId = undefined;
    throw error;
  }
  $("match-id").textContent = id;
  $("game").hidden = false;
  $("create").disabled = true;
  status("Waiting for an opponent");
}

function status(text, result) {
  $("game-status").textContent = text;
  if (result) $("game-status").dataset.result = result;
}

function draw(board) {
  document.querySelectorAll(".cell").forEach((cell, i) => { cell.textContent = MARKS[board[i]]; });
}

function turn(mark) {
  status(mark === myMark ? `You are ${MARKS[myMark]}: your turn` : `You are ${MARKS[myMark]}: opponent's turn`);
  $("game-status").dataset.turn = mark === myMark ? "mine" : "theirs";
}

function onMatchData(m) {
  if (m.match_id !== matchId) return;
  const body = JSON.parse(new TextDecoder().decode(m.data));
  if (m.op_code === START) {
    myMark = body.marks[session.user_id];
    draw(body.board);
    turn(body.mark);
  } else if (m.op_code === UPDATE) {
    draw(body.board);
    turn(body.mark);
  } else if (m.op_code === DONE) {
    draw(body.board);
    delete $("game-status").dataset.turn;
    const result = body.winner === 0 ? "draw" : body.winner === myMark ? "win" : "lose";
    const why = body.reason === "line" || body.reason === "draw" ? "" : ` (${body.reason})`;
    status({ draw: "Draw!", win: "You win!", lose: "You lose." }[result] + why, result);
    $("create").disabled = false;
  } else if (m.op_code === REJECTED) {
    show(`move rejected: ${body.reason}`);
  }
}

function play(event) {
  const pos = event.target.dataset.pos;
  if (pos === undefined || !matchId) return;
  socket.sendMatchState(matchId, MOVE, JSON.stringify({ position: Number(pos) })).catch(show);
}

$("login").onclick = () => login().catch(show);
$("chat-form").onsubmit = (event) => send(event).catch(show);
$("refresh").onclick = () => refresh().catch(show);
$("create").onclick = () => create().catch(show);
$("board").onclick = play;
