"""Players on real sockets for the party tests.

``p = await player(app)`` connects a fresh user; ``pushed, reply = await p.ask("party_join",
party_id=pid)`` sends one request and returns what arrived before its reply, then the reply,
so a test can pin the order of pushes and acks. ``await p.quiet()`` asserts nothing else is
queued (a ping's pong comes next).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tests.conftest import WsClient, connect, new_user

_cids = itertools.count(1)


@dataclass
class Player:
    ws: WsClient
    user_id: str
    username: str
    session_id: str
    party_id: str = ""  # the last party this player created

    @property
    def presence(self) -> dict[str, str]:
        return {"user_id": self.user_id, "session_id": self.session_id, "username": self.username}

    def send(self, key: str, **body: Any) -> str:
        cid = f"c{next(_cids)}"
        self.ws.send({"cid": cid, key: body})
        return cid

    async def reply(self, cid: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        before = []
        while True:
            message = await self.ws.recv()
            if message.get("cid") == cid:
                return before, message
            before.append(message)

    async def ask(self, key: str, **body: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return await self.reply(self.send(key, **body))

    async def ok(self, key: str, **body: Any) -> list[dict[str, Any]]:
        """Send and expect the empty ack; returns the pushes before it."""
        cid = self.send(key, **body)
        pushed, reply = await self.reply(cid)
        assert reply == {"cid": cid}, reply
        return pushed

    async def error(self, key: str, **body: Any) -> dict[str, Any]:
        """Send and expect an error; returns its body. The socket must stay open."""
        pushed, reply = await self.ask(key, **body)
        assert "error" in reply, reply
        assert pushed == [], pushed
        await self.quiet()
        return reply["error"]

    async def recv(self) -> dict[str, Any]:
        return await self.ws.recv()

    async def quiet(self) -> None:
        cid = f"p{next(_cids)}"
        self.ws.send({"cid": cid, "ping": {}})
        message = await self.ws.recv()
        assert message == {"cid": cid, "pong": {}}, f"unexpected message: {message}"

    async def create(self, **body: Any) -> str:
        """Create a party (open, size 4 unless given); returns its id with the queue drained."""
        body = {"open": True, "max_size": 4, **body}
        pushed, reply = await self.ask("party_create", **body)
        assert "party" in reply, reply
        self.party_id = reply["party"]["party_id"]
        assert pushed == [joined(self.party_id, self)]
        return self.party_id


async def player(app: Any) -> Player:
    user_id, username = new_user()
    ws = await connect(app, user_id, username)
    session_id = next(s.session_id for s in app.services.sessions if s.user_id == user_id)
    return Player(ws, user_id, username, session_id)


def joined(party_id: str, *players: Player) -> dict[str, Any]:
    return {"party_presence_event": {"party_id": party_id, "joins": [p.presence for p in players]}}


def left(party_id: str, *players: Player) -> dict[str, Any]:
    return {"party_presence_event": {"party_id": party_id, "leaves": [p.presence for p in players]}}


def leader(party_id: str, p: Player) -> dict[str, Any]:
    return {"party_leader": {"party_id": party_id, "presence": p.presence}}


def closed(party_id: str) -> dict[str, Any]:
    return {"party_close": {"party_id": party_id}}


def bad(message: str) -> dict[str, Any]:
    """A code 3 error body."""
    return {"code": 3, "message": message}
