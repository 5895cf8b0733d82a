"""Two players play tic-tac-toe on the shipped lua_modules/tictactoe.lua, over the wire.

Start a server (`nkhost` from the repository root), then run:

    python examples/tictactoe.py [--port 7350]

Each player authenticates a device account over HTTP, opens the realtime socket, calls the
`tictactoe_find` RPC (which finds a match with a free seat or creates one with
`nk.match_create`), joins it with `match_join` and, whenever the server says it is their
turn, sends a move (the first free square, so games are short and repeatable). The server
checks every move and announces the result. Only the standard library and `websockets` (an
nkhost dependency) are used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import urllib.parse
import urllib.request
import uuid

from websockets.asyncio.client import connect

START, UPDATE, DONE, MOVE, REJECTED = 1, 2, 3, 4, 5
MARKS = {0: ".", 1: "X", 2: "O"}


def authenticate(port: int, device_id: str, server_key: str = "defaultkey") -> tuple[str, str]:
    """POST /v2/account/authenticate/device; returns (session token, user id)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/account/authenticate/device?create=true",
        data=json.dumps({"id": device_id}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{server_key}:".encode()).decode()},
    )
    with urllib.request.urlopen(request) as reply:
        token = json.loads(reply.read())["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return token, claims["uid"]


def board_text(board: list[int]) -> str:
    return "\n".join(" ".join(MARKS[board[row * 3 + col]] for col in range(3)) for row in range(3))


async def player(port: int, device_id: str, seated: asyncio.Event | None = None) -> dict:
    """One player's whole game; returns the DONE message. ``seated`` is set once it joined."""
    token, user_id = await asyncio.to_thread(authenticate, port, device_id)
    async with connect(f"ws://127.0.0.1:{port}/ws?token={urllib.parse.quote(token)}") as socket:

        async def request(cid: str, message: dict) -> dict:
            await socket.send(json.dumps({"cid": cid, **message}))
            while True:
                envelope = json.loads(await socket.recv())
                if envelope.get("cid") == cid:
                    if "error" in envelope:
                        raise RuntimeError(envelope["error"])
                    return envelope
                pending.append(envelope)

        pending: list[dict] = []
        found = await request("1", {"rpc": {"id": "tictactoe_find", "payload": ""}})
        match_id = json.loads(found["rpc"]["payload"])["match_id"]
        await request("2", {"match_join": {"match_id": match_id}})
        print(f"{device_id}: joined {match_id}")
        if seated is not None:
            seated.set()
        mine = None
        while True:
            envelope = pending.pop(0) if pending else json.loads(await socket.recv())
            data = envelope.get("match_data")
            if data is None:
                continue
            op = int(data.get("op_code", 0))
            body = json.loads(base64.b64decode(data.get("data", "")) or b"{}")
            if op == START:
                mine = body["marks"][user_id]
                print(f"{device_id}: playing {MARKS[mine]}")
            if op in (START, UPDATE) and body["mark"] == mine:
                position = body["board"].index(0)
                move = base64.b64encode(json.dumps({"position": position}).encode()).decode()
                await socket.send(json.dumps({"match_data_send": {"match_id": match_id, "op_code": MOVE, "data": move}}))
            elif op == REJECTED:
                print(f"{device_id}: move rejected: {body['reason']}")
            elif op == DONE:
                result = "a draw" if body["winner"] == 0 else f"{MARKS[body['winner']]} wins"
                print(f"{device_id}: game over, {result} ({body['reason']})\n{board_text(body['board'])}")
                await socket.send(json.dumps({"cid": "3", "match_leave": {"match_id": match_id}}))
                return body


async def play(port: int, prefix: str = "") -> list[dict]:
    """Two players, the second finding the first one's match; returns both DONE messages."""
    prefix = prefix or f"ttt-{uuid.uuid4().hex[:8]}"
    seated = asyncio.Event()
    first = asyncio.create_task(player(port, f"{prefix}-player-1", seated))
    await seated.wait()  # so the second player finds the first one's match instead of creating one
    return list(await asyncio.gather(first, player(port, f"{prefix}-player-2")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7350)
    args = parser.parse_args()
    asyncio.run(play(args.port))


if __name__ == "__main__":
    main()
