"""Two players in a chat room: Nakama's built-in chat channels, driven over the wire.

Start a server (`nkhost` from the repository root), then run:

    python examples/chat_channels.py [--port 7350] [--room lobby] [--message "hello"]

Two device accounts are authenticated over HTTP and open realtime sockets. Both join the room
with `channel_join` (persistent, so their messages are kept for history); the first sends a
message with `channel_message_send` and edits it with `channel_message_update`; each prints
what it receives (presence events, the `channel_message` pushes). Then the room's history is
read back with `GET /v2/channel/{channel_id}` and both leave with `channel_leave`. Only the
standard library and `websockets` (an nkhost dependency) are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from chat_room import authenticate  # the same device authentication


def history(port: int, token: str, channel_id: str) -> list[dict[str, Any]]:
    """GET /v2/channel/{channel_id}: the room's stored messages, oldest first."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/channel/{urllib.parse.quote(channel_id, safe='')}?limit=100&forward=true",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read()).get("messages", [])


class Player:
    """One socket; ``request`` waits for the reply with its cid, keeping the pushes in ``pushed``."""

    def __init__(self, name: str, socket: ClientConnection) -> None:
        self.name = name
        self.socket = socket
        self.pushed: list[dict[str, Any]] = []
        self.cid = 0

    async def request(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        self.cid += 1
        cid = str(self.cid)
        await self.socket.send(json.dumps({"cid": cid, key: body}))
        while True:
            envelope = json.loads(await self.socket.recv())
            if envelope.get("cid") == cid:
                if "error" in envelope:
                    raise RuntimeError(envelope["error"])
                return envelope
            self.pushed.append(envelope)
            print(f"{self.name} received:", envelope)


async def chat(port: int, room: str, message: str) -> dict[str, Any]:
    """Run the conversation; returns what each player was pushed and the history (for tests)."""
    tokens = [await asyncio.to_thread(authenticate, port, f"example-{name}-{uuid.uuid4()}") for name in ("ann", "bob")]
    url = f"ws://127.0.0.1:{port}/ws?token="
    async with connect(url + urllib.parse.quote(tokens[0])) as one, connect(url + urllib.parse.quote(tokens[1])) as two:
        ann, bob = Player("ann", one), Player("bob", two)
        channel = (await ann.request("channel_join", {"target": room, "type": 1, "persistence": True}))["channel"]
        await bob.request("channel_join", {"target": room, "type": 1, "persistence": True})
        print("joined", channel["id"])
        ack = (await ann.request("channel_message_send", {"channel_id": channel["id"], "content": json.dumps({"text": message})}))
        sent = ack["channel_message_ack"]
        await ann.request("channel_message_update", {
            "channel_id": channel["id"], "message_id": sent["message_id"], "content": json.dumps({"text": message + " (edited)"}),
        })
        await bob.request("ping", {})  # bob has received everything sent before this answer
        stored = await asyncio.to_thread(history, port, tokens[1], channel["id"])
        print("history:", [json.loads(m["content"])["text"] for m in stored])
        for player in (bob, ann):
            await player.request("channel_leave", {"channel_id": channel["id"]})
    return {"ann": ann.pushed, "bob": bob.pushed, "history": stored, "channel_id": channel["id"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7350)
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--message", default="hello, room")
    args = parser.parse_args()
    asyncio.run(chat(args.port, args.room, args.message))


if __name__ == "__main__":
    main()
