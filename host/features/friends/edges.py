"""The friend-edge state machine (Nakama's core_friend.go), as pure functions.

Each user pair has up to two rows, one per direction: ``mine`` (caller -> target) and
``theirs`` (target -> caller), each None (no row) or a state. An operation maps the pair to
its new pair and the notification the target gets; the store turns the difference into
inserts, updates, deletes and ``users.edge_count`` changes (a user's count is the number of
its own rows, whatever their state).

=====================  ==============  ==============  =====================================
operation              before          after           notification to the target
=====================  ==============  ==============  =====================================
add                    none / none     1 / 2           -2 "<caller> wants to add you as a friend"
add                    2 / 1           0 / 0           -3 "<caller> accepted your friend request"
add                    3 / *           unchanged       (the caller blocked the target)
add                    * / 3           unchanged       (the target blocked the caller)
add                    0 or 1 / *      unchanged
delete                 x / y           none / none     -9 "<caller> removed you as a friend" if both went
delete                 x / 3           none / 3        (their block stays)
block                  x / y           3 / none        (no notification; their block stays)
=====================  ==============  ==============  =====================================

Add and block do nothing for a target that does not exist.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FRIEND", "INVITE_SENT", "INVITE_RECEIVED", "BLOCKED", "REQUEST", "ACCEPTED", "REMOVED", "Step", "add", "delete", "block"]

FRIEND, INVITE_SENT, INVITE_RECEIVED, BLOCKED = 0, 1, 2, 3

# Nakama's notification codes.
REQUEST, ACCEPTED, REMOVED = -2, -3, -9

State = int | None


class Step(NamedTuple):
    mine: State
    theirs: State
    notify: int | None = None


def add(mine: State, theirs: State) -> Step:
    if mine == INVITE_RECEIVED and theirs == INVITE_SENT:
        return Step(FRIEND, FRIEND, ACCEPTED)
    if mine is None and theirs is None:
        return Step(INVITE_SENT, INVITE_RECEIVED, REQUEST)
    return Step(mine, theirs)


def delete(mine: State, theirs: State) -> Step:
    kept = theirs if theirs == BLOCKED else None
    both = mine is not None and theirs is not None and kept is None
    return Step(None, kept, REMOVED if both else None)


def block(mine: State, theirs: State) -> Step:
    return Step(BLOCKED, theirs if theirs == BLOCKED else None)
