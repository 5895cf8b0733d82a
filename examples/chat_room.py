"""A player in the "Global Chat Room": the shipped lua_modules/chat_room.lua, driven over the wire.

Start a server (`nkhost` from the repository root), then run:

    python examples/chat_room.py [--port 7350] [--device my-device-id] [--message "hello"]

It authenticates a device account over HTTP, opens the realtime socket, calls the
`join` RPC, broadcasts a message with the `send` RPC, prints the presence event
and the stream data it receives, asks `count`, then calls `leave`. Only the
standard library and `websockets` (an nkhost dependency) are used.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import urllib.parse
import urllib.request

from websockets.asyncio.client import connect


def authenticate(port: int, device_id: str, server_key: str = "defaultkey") -> str:
    """POST /v2/account/authenticate/device with Basic server-key auth; returns the session token."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/account/authenticate/device?create=true",
        data=json.dumps({"id": device_id}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(f"{server_key}:".encode()).decode()},
    )
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read())["token"]


async def chat(port: int, device_id: str, message: str) -> list[dict]:
    """Run the conversation; returns every envelope the server pushed (for tests)."""
    token = await asyncio.to_thread(authenticate, port, device_id)
    pushed: list[dict] = []
    async with connect(f"ws://127.0.0.1:{port}/ws?token={urllib.parse.quote(token)}") as socket:
        cid = 0

        async def rpc(rpc_id: str, payload: str = "") -> str:
            nonlocal cid
            cid += 1
            await socket.send(json.dumps({"cid": str(cid), "rpc": {"id": rpc_id, "payload": payload}}))
            while True:
                envelope = json.loads(await socket.recv())
                if envelope.get("cid") == str(cid):
                    if "error" in envelope:
                        raise RuntimeError(envelope["error"])
                    return envelope["rpc"].get("payload", "")
                pushed.append(envelope)
                print("pushed:", envelope)

        print("join ->", await rpc("join"))
        await rpc("send", json.dumps({"from": device_id, "text": message}))
        print("count ->", await rpc("count"))
        await rpc("leave")
    return pushed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7350)
    parser.add_argument("--device", default="example-device-0001")
    parser.add_argument("--message", default="hello, room")
    args = parser.parse_args()
    asyncio.run(chat(args.port, args.device, args.message))


if __name__ == "__main__":
    main()
