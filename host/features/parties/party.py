"""A party's state, its ids and the checks on what a client may set (Nakama's §6 rules).

A party lives on one node: its id is ``<uuid>.<node>`` and its members are the presences of
the stream ``{7, uuid, label = node}``. The state here is what the stream does not hold:
the leader, who asked to join, the seats held while a player is being tracked, and the
fields the listing shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ...errors import ApiError, Code
from ...streams import MODE_PARTY, StreamId

__all__ = ["Member", "Party", "PartyRef", "PartyError", "parse_party_id", "check_label", "MAX_SIZE", "LABEL_MAX_BYTES"]

MAX_SIZE = 256
LABEL_MAX_BYTES = 2048


class PartyError(ApiError):
    """A party rule refused the request; the socket door prefixes the operation
    ("Error joining party: party full"). Plain ApiErrors (bad ids, bad input) are shown as they are."""

    def __init__(self, message: str) -> None:
        super().__init__(Code.INVALID_ARGUMENT, message)


@dataclass(slots=True, frozen=True)
class Member:
    """One party presence (a member, the leader, or a player asking to join)."""

    user_id: str
    session_id: str
    username: str
    node: str

    def to_wire(self) -> dict[str, Any]:
        """The UserPresence form (no persistence: parties track with persistence off)."""
        out = {"user_id": self.user_id, "session_id": self.session_id}
        if self.username:
            out["username"] = self.username
        return out

    def same_presence(self, user_id: str, session_id: str, username: str) -> bool:
        """How a leader's request names a player: session, user and username must all match."""
        return self.session_id == session_id and self.user_id == user_id and self.username == username


@dataclass(slots=True, frozen=True)
class PartyRef:
    """A parsed party id."""

    uuid: str
    node: str

    @property
    def stream(self) -> StreamId:
        return StreamId(MODE_PARTY, self.uuid, None, self.node)


def parse_party_id(text: str) -> PartyRef:
    """``<uuid>.<node>``; anything else is 3 "Invalid party ID". The node is not checked here:
    a party of another node is simply not found."""
    head, dot, node = text.partition(".")
    if not dot:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid party ID")
    try:
        return PartyRef(str(uuid.UUID(head)), node)
    except ValueError:
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid party ID") from None


def check_label(label: str, hidden: bool) -> Any:
    """The label's JSON object (``""`` means ``{}``), or the PartyError Nakama gives.

    Nakama refuses a label on a hidden party only in ``party_update`` (hidden parties are
    never listed to clients, so the label would be dead weight); create skipped the check.
    Both apply it here, so a party cannot reach by creation a state an update refuses.
    """
    if hidden and label not in ("", "{}"):
        raise PartyError("party is hidden and label is not empty, invalid operation")
    if len(label.encode()) > LABEL_MAX_BYTES:
        raise PartyError("party label too long")
    if label == "":
        return {}
    try:
        value = orjson.loads(label)
    except orjson.JSONDecodeError as exc:
        raise PartyError(f"failed to unmarshal party label: {exc}") from None
    if value is None:
        return {}  # Go unmarshals null into a map as nil: accepted
    if not isinstance(value, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(value), "number")
        raise PartyError(f"failed to unmarshal party label: json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    return value


@dataclass(slots=True, eq=False)
class Party:
    uuid: str
    node: str
    open: bool
    max_size: int
    label: str
    hidden: bool
    leader: Member  # always a member once the creator's join is seen
    create_time: datetime
    members: list[Member] = field(default_factory=list)  # join order: the oldest leads next
    requests: list[Member] = field(default_factory=list)  # closed parties: players asking to join
    reserved: set[str] = field(default_factory=set)  # session ids holding a seat while being tracked
    active: bool = True  # something happened since the last idle check

    @property
    def id(self) -> str:
        return f"{self.uuid}.{self.node}"

    @property
    def stream(self) -> StreamId:
        return StreamId(MODE_PARTY, self.uuid, None, self.node)

    def member(self, session_id: str) -> Member | None:
        for m in self.members:
            if m.session_id == session_id:
                return m
        return None

    def is_leader(self, caller: Member) -> bool:
        """Nakama compares the caller's session id and node, not the user."""
        return self.leader.session_id == caller.session_id and self.leader.node == caller.node

    @property
    def full(self) -> bool:
        return len(self.members) + len(self.reserved) >= self.max_size

    def to_wire(self, me: Member) -> dict[str, Any]:
        """The ``party`` message for ``me``: the create reply and the push a new member gets.

        Nakama's push to joiners lacks label and hidden; a joiner needs them as much as the
        creator, so both carry them.
        """
        out: dict[str, Any] = {"party_id": self.id}
        if self.open:
            out["open"] = True
        out["max_size"] = self.max_size
        out["self"] = me.to_wire()
        out["leader"] = self.leader.to_wire()
        out["presences"] = [m.to_wire() for m in self.members]
        if self.label:
            out["label"] = self.label
        if self.hidden:
            out["hidden"] = True
        return out
