"""Chat tests over a real server: accounts with an open socket, requests by cid, pushes by key."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from host.app import App
from tests.conftest import WsClient, connect_as, new_account
from tests.features.social.helpers import Player

_cids = itertools.count(1)


@dataclass
class Chatter(Player):
    """A real account with a realtime socket. Messages not yet asked for wait in ``held``."""

    ws: WsClient = None  # type: ignore[assignment]
    held: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, key: str) -> dict[str, Any]:
        """The next message carrying ``key`` (a push, or any reply when key is "cid")."""
        for i, message in enumerate(self.held):
            if key in message:
                return self.held.pop(i)
        while True:
            message = await self.ws.recv()
            if key in message:
                return message
            self.held.append(message)

    async def request(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send ``{key: body}`` and return the reply with its cid (without the cid)."""
        cid = str(next(_cids))
        self.ws.send({"cid": cid, key: body})
        while (message := await self.ws.recv()).get("cid") != cid:
            self.held.append(message)
        message.pop("cid")
        return message

    async def join(self, target: str, kind: int = 1, **flags: Any) -> dict[str, Any]:
        reply = await self.request("channel_join", {"target": target, "type": kind, **flags})
        assert "channel" in reply, reply
        return reply["channel"]

    async def send(self, channel_id: str, content: str = '{"text":"hi"}') -> dict[str, Any]:
        return await self.request("channel_message_send", {"channel_id": channel_id, "content": content})

    async def pushes(self, key: str = "channel_message") -> list[dict[str, Any]]:
        """Every ``key`` push received so far, proved complete by a ping round trip."""
        await self.request("ping", {})
        found = [m[key] for m in self.held if key in m]
        self.held = [m for m in self.held if key not in m]
        return found

    async def quiet(self) -> None:
        """Nothing arrived that was not asked for (a ping round trip proves it)."""
        await self.request("ping", {})
        assert self.held == []

    async def forget(self) -> None:
        """Drop everything received so far (a ping round trip makes sure it has arrived)."""
        await self.request("ping", {})
        self.held.clear()


async def chatters(app: App, count: int) -> list[Chatter]:
    out = []
    for _ in range(count):
        uid, username, token = await new_account(app)
        out.append(Chatter(app, uid, username, token, await connect_as(app, token)))
    return out


def error(code: int, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message} if code else {"message": message}}
