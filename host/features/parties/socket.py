"""The realtime party messages: read each request, call the core, send the reply.

Every failure keeps the socket open with an ``error`` carrying the request's cid: a party
rule as code 3 with the operation's prefix ("Error joining party: party full"), a bad id or
presence as code 3 alone ("Invalid party ID"), a tracking failure as code 0. A successful
request with no natural reply gets the empty ack ``{"cid"}``. The realtime before/after hooks
(``PartyCreate``, ``PartyJoin``, ...) run in the pipeline around these handlers.

Party matchmaking (``party_matchmaker_add`` / ``_remove``) is not served yet: those messages
get code 1 "Party matchmaking is not supported." and the socket stays open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import ApiError, Code
from ...net.errors import ErrorCode
from ...net.pipeline import SocketDoor, ack, reply_api_error, reply_error
from ...net.protojson import Bytes, Int32, Int64, bytes_value, int_value, message_kind, message_value
from .core import NAME, Parties
from .party import Member, PartyError, PartyRef, parse_party_id

if TYPE_CHECKING:
    from ...net.socket import WebSocketSession

__all__ = ["DOORS"]

USER_PRESENCE = message_kind("UserPresence", {"user_id": str, "session_id": str, "username": str, "persistence": bool, "status": str})

Run = Callable[[Parties, Member, dict[str, Any]], dict[str, Any]]


def _door(prefix: str, fields: Mapping[str, Any], run: Run, *, out_to_hook: bool = True) -> SocketDoor:
    """A handler calling ``run(core, caller, body)``, which returns the reply's message
    (``{}`` for the empty ack) or raises ApiError."""

    async def handler(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        core: Parties = services.features[NAME]
        caller = Member(session.user_id, session.session_id, session.username, core.node)
        try:
            message = run(core, caller, body)
        except PartyError as exc:
            reply_error(session, cid, ErrorCode.BAD_INPUT, f"{prefix}: {exc.message}")
            return False, None
        except ApiError as exc:
            reply_api_error(session, cid, exc)
            return False, None
        if message:
            out = {"cid": cid, **message} if cid else message
            session.send_envelope(out)
        else:
            out = ack(session, cid)
        return True, out if out_to_hook else None

    return SocketDoor(handler, fields)


def _target(body: dict[str, Any]) -> Member:
    """The presence a leader names; every field must be set (3 "Invalid presence")."""
    p = message_value(USER_PRESENCE, body.get("presence"))
    user_id, session_id, username = p.get("user_id", ""), p.get("session_id", ""), p.get("username", "")
    if not (user_id and session_id and username):
        raise ApiError(Code.INVALID_ARGUMENT, "Invalid presence")
    return Member(user_id, session_id, username, "")


def _ref(body: dict[str, Any]) -> PartyRef:
    return parse_party_id(body.get("party_id", ""))


def _create(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    return {"party": core.create(me, b.get("open", False), int_value(b.get("max_size")), b.get("label", ""), b.get("hidden", False))}


def _join(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    core.join(me, _ref(b))
    return {}


def _leave(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    core.leave(me, _ref(b))
    return {}


def _with_target(action: Callable[[Parties, Member, Any, Member], None]) -> Run:
    def run(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
        target = _target(b)  # Nakama checks the presence before the id
        action(core, me, _ref(b), target)
        return {}

    return run


def _close(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    core.close(me, _ref(b))
    return {}


def _join_request_list(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    requests = core.join_requests(me, _ref(b))
    body: dict[str, Any] = {"party_id": b.get("party_id", "")}  # the id as sent, as Nakama echoes it
    if requests:
        body["presences"] = [r.to_wire() for r in requests]
    return {"party_join_request": body}


def _data_send(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    core.send_data(me, _ref(b), int_value(b.get("op_code")), bytes_value(b.get("data")))
    return {}


def _update(core: Parties, me: Member, b: dict[str, Any]) -> dict[str, Any]:
    core.update(me, _ref(b), b.get("label"), b.get("open"), b.get("hidden"))
    return {}


def _matchmaking_door(fields: Mapping[str, Any]) -> SocketDoor:
    async def handler(services: Any, session: WebSocketSession, cid: str, body: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        reply_error(session, cid, ErrorCode.UNRECOGNIZED_PAYLOAD, "Party matchmaking is not supported.")
        return False, None

    return SocketDoor(handler, fields)


_ID = {"party_id": str}
_TARGETED = {"party_id": str, "presence": USER_PRESENCE}

DOORS: dict[str, SocketDoor] = {
    "party_create": _door("Error creating party", {"open": bool, "max_size": Int32, "label": str, "hidden": bool}, _create),
    "party_join": _door("Error joining party", _ID, _join),
    # A leave always succeeds (only a malformed id fails, unprefixed); Nakama's after hook gets no out.
    "party_leave": _door("Error leaving party", _ID, _leave, out_to_hook=False),
    "party_promote": _door("Error promoting new party leader", _TARGETED, _with_target(Parties.promote)),
    "party_accept": _door("Error accepting party join request", _TARGETED, _with_target(Parties.accept)),
    "party_remove": _door("Error removing party member or join request", _TARGETED, _with_target(Parties.remove)),
    "party_close": _door("Error closing party", _ID, _close),
    "party_join_request_list": _door("Error listing party join requests", _ID, _join_request_list),
    "party_data_send": _door("Error sending party data", {"party_id": str, "op_code": Int64, "data": Bytes}, _data_send),
    "party_update": _door("Error updating party", {"party_id": str, "label": str, "open": bool, "hidden": bool}, _update),
    "party_matchmaker_add": _matchmaking_door(
        {"party_id": str, "min_count": Int32, "max_count": Int32, "query": str, "string_properties": dict, "numeric_properties": dict, "count_multiple": Int32}
    ),
    "party_matchmaker_remove": _matchmaking_door({"party_id": str, "ticket": str}),
}
