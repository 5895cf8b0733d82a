"""Match ids: ``<uuid>.<node>`` for an authoritative match, ``<uuid>.`` for a relayed one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import lru_cache

from ...streams import MODE_MATCH_AUTHORITATIVE, MODE_MATCH_RELAYED, StreamId

__all__ = ["MatchId", "parse_match_id", "relayed_uuid"]


@dataclass(slots=True, frozen=True)
class MatchId:
    uuid: str  # canonical, lowercase
    node: str  # "" for a relayed match
    stream: StreamId = field(init=False, compare=False)
    """Mode 6 with the node as label, or mode 5 (Nakama's stream table, NB §1.7); built once,
    as ids come from the cache below and every data message needs the stream."""

    def __post_init__(self) -> None:
        if self.node:
            stream = StreamId(MODE_MATCH_AUTHORITATIVE, self.uuid, None, self.node)
        else:
            stream = StreamId(MODE_MATCH_RELAYED, self.uuid)
        object.__setattr__(self, "stream", stream)

    @property
    def authoritative(self) -> bool:
        return self.node != ""

    @property
    def text(self) -> str:
        return f"{self.uuid}.{self.node}"


@lru_cache(maxsize=4096)  # every match_data_send parses its match's id again
def parse_match_id(text: str) -> MatchId | None:
    """Nakama's SplitN(id, ".", 2) and uuid.FromString of the first part; None when malformed."""
    head, dot, node = text.partition(".")
    if not dot:
        return None
    try:
        return MatchId(str(uuid.UUID(head)), node)
    except ValueError:
        return None


def relayed_uuid(name: str) -> str:
    """A named relayed match: the UUID v5 (DNS namespace) of its name, so a name is one match."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name)) if name else str(uuid.uuid4())
