"""The group-membership state machine (Nakama's core_group.go), as pure functions.

A user's membership of a group is None (no row) or a state: 0 superadmin, 1 admin, 2 member,
3 join request, 4 banned. States 0-2 count in the group's ``edge_count`` and may use the
group chat. Each operation maps the target's state to a ``Change`` (its new state and the
group chat system message it writes) or None when nothing happens. The acting user's state
is ``actor``; the server itself (a Lua call without a caller) acts as a superadmin.

=========  =============================  =================================  ===========
operation  who (actor)                    target before -> after              message
=========  =============================  =================================  ===========
join       the user                       none -> 2 (open) / 3 (closed)      3 / none
add        admin or superadmin            none or 3 -> 2                     4
leave      the user                       0-2 -> none; 3 -> none             5 / none
kick       superadmin                     any -> none (not the last 0)       6 if 0-2
kick       admin                          2, 3, 4 -> none                    6 if 2
ban        as kick                        kicked -> 4                        8 if 0-2
promote    superadmin                     1 -> 0, 2 -> 1                     7
promote    admin                          2 -> 1                             7
demote     superadmin                     0 -> 1 (another 0 left), 1 -> 2    9
demote     admin                          1 -> 2                             9
=========  =============================  =================================  ===========

Leaving as the last superadmin is refused while others are members; alone, it disbands the
group (``DISBAND``). Banned users cannot leave (a ban sticks); a kick lifts it.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "SUPERADMIN", "ADMIN", "MEMBER", "JOIN_REQUEST", "BANNED", "counted",
    "JOINED", "ADDED", "LEFT", "KICKED", "PROMOTED", "BANNED_MESSAGE", "DEMOTED",
    "Change", "DISBAND", "LastSuperadmin", "join", "add", "leave", "kick", "ban", "promote", "demote",
]

SUPERADMIN, ADMIN, MEMBER, JOIN_REQUEST, BANNED = 0, 1, 2, 3, 4

# Group chat system message codes (Nakama's ChannelMessageTypeGroup*).
JOINED, ADDED, LEFT, KICKED, PROMOTED, BANNED_MESSAGE, DEMOTED = 3, 4, 5, 6, 7, 8, 9

State = int | None


class Change(NamedTuple):
    state: State  # the target's new state; None removes the row
    message: int | None  # the group chat system message, None for none


class LastSuperadmin(Exception):
    """The last superadmin tried to leave a group that has other members."""


DISBAND = Change(None, None)  # returned by ``leave``: the group goes with its last member


def counted(state: State) -> int:
    """1 if the state counts as a member in the group's edge_count."""
    return 1 if state is not None and state <= MEMBER else 0


def join(is_open: bool, state: State) -> Change | None:
    if state is not None:
        return None
    return Change(MEMBER, JOINED) if is_open else Change(JOIN_REQUEST, None)


def add(state: State) -> Change | None:
    return Change(MEMBER, ADDED) if state is None or state == JOIN_REQUEST else None


def leave(state: State, other_superadmins: int, members: int) -> Change | None:
    """``members`` is the group's edge_count (the leaver included)."""
    if state is None or state == BANNED:
        return None
    if state == SUPERADMIN and other_superadmins == 0:
        if members > 1:
            raise LastSuperadmin()
        return DISBAND
    return Change(None, LEFT if counted(state) else None)


def _removable(actor: int, state: State, other_superadmins: int) -> bool:
    if state is None:
        return False
    if actor == SUPERADMIN:
        return state != SUPERADMIN or other_superadmins > 0
    return state > ADMIN


def kick(actor: int, state: State, other_superadmins: int) -> Change | None:
    if not _removable(actor, state, other_superadmins):
        return None
    return Change(None, KICKED if counted(state) else None)


def ban(actor: int, state: State, other_superadmins: int) -> Change | None:
    if state == BANNED or not _removable(actor, state, other_superadmins):
        return None
    return Change(BANNED, BANNED_MESSAGE if counted(state) else None)


def promote(actor: int, state: State) -> Change | None:
    if state is None or not actor < state <= MEMBER:
        return None
    return Change(state - 1, PROMOTED)


def demote(actor: int, state: State, other_superadmins: int) -> Change | None:
    if state is None or not actor <= state < MEMBER:
        return None
    if actor == SUPERADMIN and other_superadmins == 0:
        return None
    return Change(state + 1, DEMOTED)
