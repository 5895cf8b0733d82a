"""Every state transition of a group membership, as Nakama's core_group.go makes them: the pure
state machine (an explicit table), then each operation through the real core on both database
engines (the target's row, the group's edge_count, the chat system message, permissions)."""

from __future__ import annotations

import pytest

from host.features.groups import membership as rules
from host.features.groups.core import PERMISSION, GroupError, MembershipChange

N = None
SA, AD, ME, JR, BA = 0, 1, 2, 3, 4

# op, actor, target before -> (target after, message) or N (nothing happens). ``others`` is how
# many superadmins there are besides the target.
ADMIN_OPS = [
    # kick: a superadmin removes anyone but the last superadmin; an admin removes members,
    # join requests (a refusal) and bans (lifting them). Only members' removals are messages.
    ("kick", SA, N, 1, N), ("kick", SA, SA, 1, (N, 6)), ("kick", SA, SA, 0, N), ("kick", SA, AD, 1, (N, 6)),
    ("kick", SA, ME, 1, (N, 6)), ("kick", SA, JR, 1, (N, N)), ("kick", SA, BA, 1, (N, N)),
    ("kick", AD, N, 1, N), ("kick", AD, SA, 1, N), ("kick", AD, AD, 1, N), ("kick", AD, ME, 1, (N, 6)),
    ("kick", AD, JR, 1, (N, N)), ("kick", AD, BA, 1, (N, N)),
    # ban: as kick, the user stays as banned (4); banning a banned user or a stranger is nothing.
    ("ban", SA, N, 1, N), ("ban", SA, SA, 1, (BA, 8)), ("ban", SA, SA, 0, N), ("ban", SA, AD, 1, (BA, 8)),
    ("ban", SA, ME, 1, (BA, 8)), ("ban", SA, JR, 1, (BA, N)), ("ban", SA, BA, 1, N),
    ("ban", AD, SA, 1, N), ("ban", AD, AD, 1, N), ("ban", AD, ME, 1, (BA, 8)), ("ban", AD, JR, 1, (BA, N)), ("ban", AD, BA, 1, N),
    # promote: one step up, never above the actor's own rank, never a join request or a ban.
    ("promote", SA, N, 1, N), ("promote", SA, SA, 1, N), ("promote", SA, AD, 1, (SA, 7)), ("promote", SA, ME, 1, (AD, 7)),
    ("promote", SA, JR, 1, N), ("promote", SA, BA, 1, N),
    ("promote", AD, SA, 1, N), ("promote", AD, AD, 1, N), ("promote", AD, ME, 1, (AD, 7)), ("promote", AD, JR, 1, N),
    # demote: one step down to member at most; a superadmin only while another one remains.
    ("demote", SA, SA, 1, (AD, 9)), ("demote", SA, SA, 0, N), ("demote", SA, AD, 1, (ME, 9)), ("demote", SA, ME, 1, N),
    ("demote", SA, JR, 1, N), ("demote", SA, BA, 1, N), ("demote", SA, N, 1, N),
    ("demote", AD, SA, 1, N), ("demote", AD, AD, 1, (ME, 9)), ("demote", AD, ME, 1, N),
    # add: a stranger or a join request becomes a member; anyone else stays (a ban too).
    ("add", SA, N, 1, (ME, 4)), ("add", SA, JR, 1, (ME, 4)), ("add", SA, SA, 1, N), ("add", SA, AD, 1, N),
    ("add", SA, ME, 1, N), ("add", SA, BA, 1, N), ("add", AD, N, 1, (ME, 4)), ("add", AD, JR, 1, (ME, 4)),
]


@pytest.mark.parametrize(("op", "actor", "state", "others", "expected"), ADMIN_OPS)
def test_admin_operations(op, actor, state, others, expected) -> None:
    fn = getattr(rules, op)
    args = (state,) if op == "add" else (actor, state) if op == "promote" else (actor, state, others)
    assert fn(*args) == (None if expected is None else rules.Change(*expected))


@pytest.mark.parametrize(
    ("is_open", "state", "expected"),
    [(True, N, (ME, 3)), (False, N, (JR, N)), (True, SA, N), (True, ME, N), (False, JR, N), (True, BA, N), (False, BA, N)],
)
def test_join(is_open, state, expected) -> None:
    assert rules.join(is_open, state) == (None if expected is None else rules.Change(*expected))


def test_leave() -> None:
    assert rules.leave(N, 0, 5) is None
    assert rules.leave(BA, 0, 5) is None  # a ban sticks
    assert rules.leave(ME, 0, 5) == rules.Change(N, 5)
    assert rules.leave(AD, 0, 5) == rules.Change(N, 5)
    assert rules.leave(JR, 0, 5) == rules.Change(N, N)  # withdrawing a request is no chat message
    assert rules.leave(SA, 1, 5) == rules.Change(N, 5)
    assert rules.leave(SA, 0, 1) is rules.DISBAND
    with pytest.raises(rules.LastSuperadmin):
        rules.leave(SA, 0, 2)


# Through the real core -------------------------------------------------------------------


class Listener:
    """A membership listener like group chat's: records inside the transaction, sends after it."""

    def __init__(self) -> None:
        self.recorded: list[MembershipChange] = []
        self.sent: list[MembershipChange] = []

    async def record(self, tx, changes) -> None:
        assert await tx.fetchone("SELECT COUNT(*) FROM group_edge") is not None  # really inside it
        self.recorded += changes

    def committed(self, changes) -> None:
        self.sent += changes


async def _member(world, gid: str, state: int | None, name: str) -> str:
    """A user holding ``state`` in the (closed) group, reached through real operations."""
    uid = await world.user(name)
    groups = world.groups
    if state == JR:
        await groups.join(gid, uid, name)
    elif state is not None:
        await groups.add(gid, None, [uid])
        for _ in range({SA: 2, AD: 1}.get(state, 0)):
            await groups.promote(gid, None, [uid])
        if state == BA:
            await groups.ban(gid, None, [uid])
    assert await groups.state(gid, uid) == state
    return uid


async def _edge_count(world, gid: str) -> int:
    (group,) = await world.groups.get([gid])
    return group.edge_count


async def test_admin_operations_through_the_core(world) -> None:
    listener = Listener()
    world.groups.listeners.append(listener)
    cases = [c for c in ADMIN_OPS if c[3] == 1] + [("member", ME, ME, 1, None)]
    for i, (op, actor, state, _, expected) in enumerate(cases):
        owner = await world.user(f"owner{i}")
        group = await world.groups.create(owner, f"g{i}")
        gid = group.id
        caller = owner if actor == SA else await _member(world, gid, actor, f"actor{i}")
        target = await _member(world, gid, state, f"target{i}")
        count, before = await _edge_count(world, gid), len(listener.sent)
        if op == "member":  # a member may do none of it
            for name in ("add", "kick", "ban", "promote", "demote"):
                with pytest.raises(GroupError) as info:
                    await getattr(world.groups, name)(gid, caller, [target])
                assert info.value.reason == PERMISSION
            continue
        await getattr(world.groups, op)(gid, caller, [target])
        case = (op, actor, state)
        after, message = expected if expected is not None else (state, None)
        assert await world.groups.state(gid, target) == after, case
        assert await _edge_count(world, gid) == count + rules.counted(after) - rules.counted(state), case
        new = listener.sent[before:]
        assert [(c.user_id, c.username, c.code) for c in new] == ([(target, f"target{i}", message)] if message else []), case
    assert listener.recorded == listener.sent


async def test_the_last_superadmin_stays(world) -> None:
    """The server (no caller) acts as a superadmin, but cannot remove or demote the last one."""
    owner = await world.user("owner")
    gid = (await world.groups.create(owner, "g")).id
    for op in ("kick", "ban", "demote"):
        await getattr(world.groups, op)(gid, None, [owner])
        assert await world.groups.state(gid, owner) == SA, op


@pytest.mark.parametrize("is_open", [True, False])
async def test_join_and_leave_through_the_core(world, is_open) -> None:
    owner = await world.user("owner")
    gid = (await world.groups.create(owner, "g", open=is_open)).id
    user = await world.user("joiner")
    await world.groups.join(gid, user, "joiner")
    assert await world.groups.state(gid, user) == (ME if is_open else JR)
    assert await _edge_count(world, gid) == (2 if is_open else 1)
    await world.groups.join(gid, user, "joiner")  # already related: nothing
    assert await _edge_count(world, gid) == (2 if is_open else 1)
    await world.groups.leave(gid, user, "joiner")
    assert await world.groups.state(gid, user) is None and await _edge_count(world, gid) == 1


async def test_a_failing_listener_undoes_the_change(world) -> None:
    """Group chat's messages commit with the membership change, or neither does."""

    class Broken:
        async def record(self, tx, changes) -> None:
            await tx.execute("INSERT INTO no_such_table VALUES (1)")

        def committed(self, changes) -> None:
            raise AssertionError("never called")

    owner, user = await world.user("owner"), await world.user("user")
    gid = (await world.groups.create(owner, "g", open=True)).id
    world.groups.listeners.append(Broken())
    with pytest.raises(Exception):
        await world.groups.join(gid, user, "user")
    assert await world.groups.state(gid, user) is None and await _edge_count(world, gid) == 1


async def test_racing_joins_never_overfill_a_group(world) -> None:
    import asyncio

    owner = await world.user("owner")
    gid = (await world.groups.create(owner, "g", open=True, max_count=3)).id
    joiners = [await world.user(f"j{i}") for i in range(6)]
    results = await asyncio.gather(*(world.groups.join(gid, u, "j") for u in joiners), return_exceptions=True)
    assert sum(r is None for r in results) == 2
    assert all(isinstance(r, GroupError) and r.reason == "group is full" for r in results if r is not None)
    assert await _edge_count(world, gid) == 3


async def test_names_are_unique(world) -> None:
    owner = await world.user("owner")
    first = await world.groups.create(owner, "Knights")
    await world.groups.create(owner, "Rooks")
    for call in (world.groups.create(owner, "Knights"), world.groups.update(first.id, owner, name="Rooks")):
        with pytest.raises(GroupError) as info:
            await call
        assert info.value.reason == "group name in use"
    await world.groups.update(first.id, None, name="Bishops", description="", metadata='{"a": 1}', max_count=7)
    (group,) = await world.groups.get([first.id])
    assert (group.name, group.description, group.max_count) == ("Bishops", "", 7)
