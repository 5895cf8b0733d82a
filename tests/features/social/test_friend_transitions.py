"""Every state transition of a friend edge, as Nakama's core_friend.go makes them: the pure state
machine first, then the same table through the real core on both database engines (rows, edge
counts and the notification the target gets)."""

from __future__ import annotations

import pytest

from host.features.friends import edges

N = None
# (caller -> target, target -> caller) before | operation | after | notification to the target
TABLE = [
    ((N, N), "add", (1, 2), -2),
    ((N, N), "delete", (N, N), N),
    ((N, N), "block", (3, N), N),
    ((1, 2), "add", (1, 2), N),
    ((1, 2), "delete", (N, N), -9),
    ((1, 2), "block", (3, N), N),
    ((2, 1), "add", (0, 0), -3),
    ((2, 1), "delete", (N, N), -9),
    ((2, 1), "block", (3, N), N),
    ((0, 0), "add", (0, 0), N),
    ((0, 0), "delete", (N, N), -9),
    ((0, 0), "block", (3, N), N),
    ((3, N), "add", (3, N), N),
    ((3, N), "delete", (N, N), N),
    ((3, N), "block", (3, N), N),
    ((N, 3), "add", (N, 3), N),
    ((N, 3), "delete", (N, 3), N),
    ((N, 3), "block", (3, 3), N),
    ((3, 3), "add", (3, 3), N),
    ((3, 3), "delete", (N, 3), N),
    ((3, 3), "block", (3, 3), N),
]

SUBJECTS = {-2: "{} wants to add you as a friend", -3: "{} accepted your friend request", -9: "{} removed you as a friend"}


@pytest.mark.parametrize(("before", "op", "after", "notify"), TABLE)
def test_state_machine(before, op, after, notify) -> None:
    assert tuple(getattr(edges, op)(*before)) == (*after, notify)


async def _reach(world, names: dict, a: str, b: str, pair: tuple) -> None:
    """Bring the pair (a -> b, b -> a) to ``pair`` through real operations."""
    steps = {
        (N, N): [],
        (1, 2): [("add", a, b)],
        (2, 1): [("add", b, a)],
        (0, 0): [("add", a, b), ("add", b, a)],
        (3, N): [("block", a, b)],
        (N, 3): [("block", b, a)],
        (3, 3): [("block", a, b), ("block", b, a)],
    }[pair]
    for op, source, target in steps:
        await _do(world, op, source, names[source], target)


async def _do(world, op: str, source: str, name: str, target: str) -> None:
    if op == "block":
        await world.friends.block(source, [target])
    else:
        await getattr(world.friends, op)(source, name, [target])


async def _pair(world, a: str, b: str) -> tuple:
    async def state(source, destination):
        return await world.friends.state(source, destination)

    return await state(a, b), await state(b, a)


async def _edge_count(world, user_id: str) -> int:
    return (await world.accounts.get_account(user_id)).edge_count


async def test_every_transition_through_the_core(world) -> None:
    for i, (before, op, after, notify) in enumerate(TABLE):
        a, b = await world.user(f"a{i}"), await world.user(f"b{i}")
        await _reach(world, {a: f"a{i}", b: f"b{i}"}, a, b, before)
        assert await _pair(world, a, b) == before, (before, op)
        seen = len(await world.stored(b))
        await _do(world, op, a, f"a{i}", b)
        case = (before, op)
        assert await _pair(world, a, b) == after, case
        # a user's edge_count is the number of its own rows
        assert (await _edge_count(world, a), await _edge_count(world, b)) == (int(after[0] is not N), int(after[1] is not N)), case
        new = (await world.stored(b))[seen:]
        expected = [] if notify is None else [(notify, SUBJECTS[notify].format(f"a{i}"), a, {"username": f"a{i}"})]
        assert new == expected, case


async def test_racing_invites_end_as_friends(world) -> None:
    """Both users add each other at once: one invite, one accept, whatever the order."""
    import asyncio

    for i in range(5):
        a, b = await world.user(f"ra{i}"), await world.user(f"rb{i}")
        await asyncio.gather(world.friends.add(a, f"ra{i}", [b]), world.friends.add(b, f"rb{i}", [a]))
        assert await _pair(world, a, b) == (0, 0)
        assert (await _edge_count(world, a), await _edge_count(world, b)) == (1, 1)
