"""One AuthoritativeMatch with a scripted handler and no threads: queue limits and their errors,
call order, deferred broadcasts, and what a failing callback leaves behind."""

from __future__ import annotations

import pytest

from host.config import MatchConfig
from host.errors import ApiError
from host.features.matches.authoritative import AuthoritativeMatch, MatchEnv, MatchPresence


class Handler:
    """Records the callbacks; ``fail`` names one that raises."""

    generation = 1

    def __init__(self, fail: str = "") -> None:
        self.calls: list[tuple] = []
        self.fail = fail
        self.match: AuthoritativeMatch | None = None
        self.defer = 0

    def _call(self, name: str, *args):
        self.calls.append((name, *args))
        if name == self.fail:
            raise RuntimeError(f"{name} broke")

    def init(self, params):
        return 10, "label"

    def join_attempt(self, tick, presence, metadata, joiner):
        self._call("join_attempt", presence.session_id)
        return True, ""

    def join(self, tick, presences):
        self._call("join", [p.session_id for p, _ in presences])
        return True

    def leave(self, tick, presences):
        self._call("leave", [p.session_id for p, _ in presences])
        return True

    def loop(self, tick, messages):
        self._call("loop", tick, len(messages))
        for _ in range(self.defer):
            self.match.broadcast(1, b"d", None, None, True, True)
        self.match.broadcast(2, b"now", None, None, True, False)
        return True

    def terminate(self, tick, grace):
        self._call("terminate", grace)
        return True

    def signal(self, tick, data):
        self._call("signal", data)
        return True, "answer:" + data

    def close(self):
        self.calls.append(("close",))


class Env:
    def __init__(self, **limits) -> None:
        self.posted: list[tuple] = []
        self.queued: list[AuthoritativeMatch] = []
        self.lateness: list[float] = []
        config = MatchConfig(**limits)
        self.env = MatchEnv(
            node="nakama", config=config, post=lambda fn, *a: self.posted.append((fn, *a)), encode=lambda e: repr(e).encode(),
            send=self.send, kick=lambda m, p: None, ended=self.ended, alive=lambda sid: True, scheduler=self, max_frame=1 << 20,
        )
        self.sent: list[tuple] = []
        self.ends = 0

    def enqueue(self, match):
        self.queued.append(match)

    def send(self, session_ids, frame, reliable):
        self.sent.append((tuple(session_ids), frame))

    def ended(self, match):
        self.ends += 1

    def run_loop_side(self):
        posted, self.posted = self.posted, []
        for fn, *args in posted:
            fn(*args)


def new_match(env: Env, handler: Handler) -> AuthoritativeMatch:
    match = AuthoritativeMatch("6f8c5a7e-0000-4000-8000-000000000001", "m", 1, env.env)
    handler.match = match
    match.init(handler, None)
    return match


def presence(n: int) -> MatchPresence:
    return MatchPresence(f"u{n}", f"s{n}", f"name{n}", "nakama")


def test_calls_run_in_arrival_order_then_the_tick():
    env, handler = Env(), Handler()
    match = new_match(env, handler)
    replies = []
    match.queue_join_attempt(presence(1), {}, {}, replies.append)
    match.queue_join(presence(1))  # the loop, once the allowed joiner is tracked and replied to
    match.queue_signal("x", replies.append)
    match.queue_leaves([(presence(1), 3)])
    match.tick_due(0.0)
    assert env.queued == [match]  # enqueued once for all of it
    match.run()
    assert handler.calls == [("join_attempt", "s1"), ("join", ["s1"]), ("signal", "x"), ("leave", ["s1"]), ("loop", 0, 0)]
    assert replies == [(True, "", "label"), (True, "answer:x")]
    assert match.tick == 1 and match.size == 0


def test_queue_limits_refuse_with_their_errors():
    env, handler = Env(join_attempt_queue_size=1, signal_queue_size=1, input_queue_size=1, call_queue_size=1), Handler()
    match = new_match(env, handler)
    assert match.queue_join_attempt(presence(1), {}, {}, print)
    assert not match.queue_join_attempt(presence(2), {}, {}, print)  # core: "Match is not currently accepting join requests"
    assert match.queue_signal("a", print) and not match.queue_signal("b", print)  # core: "match busy"
    from host.features.matches.authoritative import Message
    message = Message("u1", "s1", "n", "nakama", 1, None, True, 0)
    assert match.queue_data(message) and not match.queue_data(message)  # the sender is told
    match.queue_marks(["s1"])
    assert not match.stopped
    match.queue_leaves([(presence(1), 4)])  # the call queue is full: this match ends
    assert match.stopped and env.ends == 0
    env.run_loop_side()
    assert env.ends == 1
    replies = []
    match.queue_signal("late", replies.append)
    match.run()  # answers what waited, closes the handler
    assert handler.calls[-1] == ("close",)


def test_deferred_broadcasts_go_after_the_callback_and_are_bounded():
    env, handler = Env(deferred_queue_size=2), Handler()
    match = new_match(env, handler)
    match.queue_join_attempt(presence(1), {}, {}, lambda r: None)
    match.queue_join(presence(1))
    match.run()
    handler.defer = 2
    match.tick_due(0.0)
    match.run()
    env.run_loop_side()
    assert [b"bm93" in frame for _, frame in env.sent] == [True, False, False]  # base64 of "now"
    handler.defer = 3
    with pytest.raises(ApiError, match="too many deferred message broadcasts per tick"):
        handler.loop(1, [])


def test_a_failing_callback_ends_the_match_once_and_refuses_what_comes_after():
    env, handler = Env(), Handler(fail="signal")
    match = new_match(env, handler)
    replies = []
    match.queue_signal("x", replies.append)
    match.queue_join_attempt(presence(1), {}, {}, replies.append)
    match.run()
    assert replies == [(False, "match_signal failed, the match ended"), (False, "", "")]
    assert match.stopped and handler.calls[-1] == ("close",)
    assert not match.queue_signal("y", replies.append)
    with pytest.raises(ApiError, match="match stopped"):
        match.broadcast(1, None, None, None, True, False)
    env.run_loop_side()
    assert env.ends == 1


def test_a_broadcast_no_socket_could_take_is_refused():
    env, handler = Env(), Handler()
    env.env.max_frame = 200
    match = new_match(env, handler)
    match.queue_join_attempt(presence(1), {}, {}, lambda r: None)
    match.queue_join(presence(1))
    match.run()
    match.broadcast(1, b"small", None, None, True, False)
    with pytest.raises(ApiError, match="data of 100 bytes is over the 200 byte socket limit"):
        match.broadcast(1, b"x" * 100, None, None, True, False)
