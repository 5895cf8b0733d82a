"""Which matches exist and how they are listed: the MatchRegistry interface and its memory engine.

The registry knows the node's running authoritative matches and the relayed matches seen
on its streams, and keeps the label index that listing searches. It is used from the event
loop only, like the tracker. A Redis engine for several nodes would keep
the same interface: the index and the relayed list shared, ``get`` answering for local
matches only.

Listing follows features §5.7 (the query language is ``host/features/labelquery.py``): a
query (``""`` is every match) sorts by score, then newest; an exact label, or no filter at all, sorts newest first; relayed matches follow the
authoritative ones when neither label nor query is given and ``authoritative`` is not true.
Differences from Nakama: a new match is listable at once (Nakama: up to
``label_update_interval_ms`` later), relayed matches are listed oldest first (Nakama: at
random), and a page is never shortened by stale index hits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ...streams import MODE_MATCH_RELAYED, StreamId, Tracker
from ..labelquery import _date as date_of  # RFC 3339 read as the query reads a range bound
from ..labelquery import flatten, parse
from .authoritative import AuthoritativeMatch
from .ids import MatchId

Document = dict[str, list[Any]]

__all__ = ["MatchEntry", "ListRequest", "MatchRegistry", "MemoryMatchRegistry"]


@dataclass(slots=True, frozen=True)
class MatchEntry:
    """api.Match: relayed matches have no label, tick rate or handler name."""

    match_id: str
    authoritative: bool
    size: int
    label: str | None = None
    tick_rate: int = 0
    handler_name: str = ""

    def wire(self) -> dict[str, object]:
        """REST JSON: omit-zero, but the label (a StringValue) is written even when ""."""
        out: dict[str, object] = {"match_id": self.match_id}
        if self.authoritative:
            out["authoritative"] = True
            out["label"] = self.label or ""
        if self.size:
            out["size"] = self.size
        if self.tick_rate:
            out["tick_rate"] = self.tick_rate
        if self.handler_name:
            out["handler_name"] = self.handler_name
        return out


@dataclass(slots=True, frozen=True)
class ListRequest:
    limit: int
    authoritative: bool | None = None
    label: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    query: str | None = None


class MatchRegistry(Protocol):
    def add(self, match: AuthoritativeMatch) -> None:
        """A new local authoritative match (indexed at once)."""

    def remove(self, match_uuid: str) -> None: ...

    def get(self, match_uuid: str) -> AuthoritativeMatch | None:
        """A running local authoritative match."""

    def running(self) -> list[AuthoritativeMatch]: ...

    def relayed_seen(self, match_uuid: str) -> None:
        """A relayed match got a member (from its stream's presence events)."""

    def refresh(self) -> None:
        """Bring changed labels into the index (every match.label_update_interval_ms)."""

    def entry(self, match_id: MatchId) -> MatchEntry | None: ...

    def list(self, request: ListRequest) -> list[MatchEntry]:
        """Raises labelquery.QueryError for a query it cannot parse."""


@dataclass(slots=True)
class _Indexed:
    match: AuthoritativeMatch
    order: int
    label: str  # the label the document was built from
    doc: Document


class MemoryMatchRegistry:
    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker
        self._matches: dict[str, _Indexed] = {}
        self._relayed: dict[str, None] = {}  # insertion-ordered set of uuids
        self._order = itertools.count()

    def add(self, match: AuthoritativeMatch) -> None:
        self._matches[match.uuid] = _Indexed(match, next(self._order), match.label, _doc(match))

    def remove(self, match_uuid: str) -> None:
        self._matches.pop(match_uuid, None)

    def get(self, match_uuid: str) -> AuthoritativeMatch | None:
        item = self._matches.get(match_uuid)
        return item.match if item is not None else None

    def running(self) -> list[AuthoritativeMatch]:
        return [item.match for item in self._matches.values()]

    def relayed_seen(self, match_uuid: str) -> None:
        self._relayed[match_uuid] = None

    def refresh(self) -> None:
        for item in self._matches.values():
            label = item.match.label
            if label is not item.label:
                item.label, item.doc = label, _doc(item.match)

    def entry(self, match_id: MatchId) -> MatchEntry | None:
        if match_id.authoritative:
            match = self.get(match_id.uuid)
            if match is None or match.env.node != match_id.node:
                return None
            return _entry(match, match.label)
        size = self._tracker.count(match_id.stream)
        return MatchEntry(match_id.text, False, size) if size else None

    def list(self, request: ListRequest) -> list[MatchEntry]:
        limit = request.limit
        if limit <= 0:
            return []
        newest = sorted(self._matches.values(), key=lambda item: -item.order)
        if request.query is not None:
            query = parse(request.query)
            scored = [(score, item) for item in newest if (score := query.score(item.doc)) is not None]
            scored.sort(key=lambda pair: -pair[0])  # stable: newest first among equal scores
            hits = [item for _, item in scored]
        elif request.label is not None:
            hits = [item for item in newest if item.label == request.label]
        elif request.authoritative is not False:
            hits = newest
        else:
            hits = []
        out: list[MatchEntry] = []
        for item in hits:
            entry = _entry(item.match, item.label)
            if _fits(entry.size, request):
                out.append(entry)
                if len(out) >= limit:
                    return out
        if request.authoritative is not True and request.label is None and request.query is None:
            out += self._list_relayed(request, limit - len(out))
        return out

    def _list_relayed(self, request: ListRequest, room: int) -> list[MatchEntry]:
        out: list[MatchEntry] = []
        for match_uuid in list(self._relayed):
            if len(out) >= room:
                break
            size = self._tracker.count(StreamId(MODE_MATCH_RELAYED, match_uuid))
            if not size:
                del self._relayed[match_uuid]  # everyone left
            elif _fits(size, request):
                out.append(MatchEntry(f"{match_uuid}.", False, size))
        return out


def document(label: str, node: str, tick_rate: int, handler_name: str, create_time: int) -> Document:
    """The indexed fields of one authoritative match (features §5.7): ``node``,
    ``label_string``, ``tick_rate``, ``handler_name``, ``create_time`` (ms) and, for a label
    that is a JSON object, ``label.<key>``; RFC 3339 strings there are dates too."""
    doc: Document = {"node": [node], "label_string": [label], "tick_rate": [tick_rate], "handler_name": [handler_name], "create_time": [create_time]}
    if label.startswith("{"):
        try:
            parsed = orjson.loads(label)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            flatten("label", parsed, doc)
            for values in doc.values():
                values += [d for v in values if type(v) is str and (d := date_of(v)) is not None]
    return doc


def _doc(match: AuthoritativeMatch) -> Document:
    return document(match.label, match.env.node, match.tick_rate, match.module, match.create_time)


def _entry(match: AuthoritativeMatch, label: str) -> MatchEntry:
    return MatchEntry(match.match_id, True, match.size, label, match.tick_rate, match.module)


def _fits(size: int, request: ListRequest) -> bool:
    return (request.min_size is None or size >= request.min_size) and (request.max_size is None or size <= request.max_size)
