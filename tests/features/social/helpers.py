"""Shared by the friends, groups and users tests: accounts on a real server and REST calls as them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from host.app import App
from tests.conftest import new_account
from tests.net.helpers import http


@dataclass
class Player:
    """A real account and its session token; ``call`` is a REST request as this player."""

    app: App
    id: str
    username: str
    token: str

    async def call(self, method: str, path: str, body: Any = None, **query: Any) -> tuple[int, Any]:
        pairs = [(k, v) for k, vs in query.items() for v in (vs if isinstance(vs, (list, tuple)) else [vs])]
        target = path + ("?" + urlencode(pairs) if pairs else "")
        raw = b"" if body is None else (body if isinstance(body, bytes) else __import__("orjson").dumps(body))
        reply = await http(self.app.port, method, target, raw, {"Authorization": f"Bearer {self.token}"})
        return reply.status, reply.json() if reply.body else None

    async def ok(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        status, reply = await self.call(method, path, body, **query)
        assert status == 200, (status, reply)
        return reply


async def players(app: App, count: int) -> list[Player]:
    return [Player(app, *(await new_account(app))) for _ in range(count)]
