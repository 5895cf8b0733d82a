"""Where parties are kept and listed: the PartyRegistry interface and its in-memory engine.

A party's live state stays on its node (its id names the node); what several nodes will
share is the listing. So the interface is small: parties by uuid, plus a listing index fed
in batches, as Nakama's: ``index`` queues a party's listing entry (after a create or an
update), ``remove`` queues its removal, and ``flush`` applies what is queued, every
``party.label_update_interval_ms``. A Redis engine keeps the same calls and puts the
listing in Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..labelquery import Query, flatten
from .party import Party, check_label

__all__ = ["Listing", "PartyRegistry", "MemoryPartyRegistry"]


@dataclass(slots=True, frozen=True)
class Listing:
    """A party as the listing shows it, and the fields a query searches."""

    party_id: str
    open: bool
    hidden: bool
    max_size: int
    label: str
    create_time: datetime
    fields: dict[str, list[Any]]

    @classmethod
    def of(cls, party: Party) -> Listing:
        fields = flatten("label", check_label(party.label, False))
        fields.update(node=[party.node], open=[party.open], hidden=[party.hidden], max_size=[party.max_size], create_time=[party.create_time])
        return cls(party.id, party.open, party.hidden, party.max_size, party.label, party.create_time, fields)

    def to_wire(self) -> dict[str, Any]:
        """api.Party (zero values omitted)."""
        out: dict[str, Any] = {"party_id": self.party_id}
        if self.open:
            out["open"] = True
        if self.hidden:
            out["hidden"] = True
        out["max_size"] = self.max_size
        if self.label:
            out["label"] = self.label
        return out


class PartyRegistry(Protocol):
    def add(self, party: Party) -> None:
        """Keep a new party (not listed until ``index`` and the next flush)."""

    def get(self, party_uuid: str) -> Party | None: ...

    def remove(self, party: Party) -> None:
        """Forget the party; its listing entry goes at the next flush."""

    def parties(self) -> list[Party]: ...

    def index(self, party: Party) -> None:
        """Queue the party's current listing entry."""

    def flush(self) -> None:
        """Apply the queued listing changes."""

    def search(self, query: Query, offset: int, count: int) -> list[Listing]:
        """Listed parties matching ``query``: best score first, then newest; a page of them."""


class MemoryPartyRegistry:
    __slots__ = ("_parties", "_pending", "_listed")

    def __init__(self) -> None:
        self._parties: dict[str, Party] = {}
        self._pending: dict[str, Party | None] = {}  # party id -> party to list, None to unlist
        self._listed: dict[str, Listing] = {}

    def add(self, party: Party) -> None:
        self._parties[party.uuid] = party

    def get(self, party_uuid: str) -> Party | None:
        return self._parties.get(party_uuid)

    def remove(self, party: Party) -> None:
        if self._parties.get(party.uuid) is party:
            del self._parties[party.uuid]
        self._pending[party.id] = None

    def parties(self) -> list[Party]:
        return list(self._parties.values())

    def index(self, party: Party) -> None:
        if self._parties.get(party.uuid) is party:
            self._pending[party.id] = party

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for party_id, party in pending.items():
            if party is None:
                self._listed.pop(party_id, None)
            else:
                self._listed[party_id] = Listing.of(party)

    def search(self, query: Query, offset: int, count: int) -> list[Listing]:
        hits = []
        for entry in self._listed.values():
            score = query.score(entry.fields)
            if score is not None:
                hits.append((-score, -entry.create_time.timestamp(), entry.party_id, entry))
        hits.sort(key=lambda hit: hit[:3])
        return [hit[3] for hit in hits[offset:offset + count]]
