"""nk.event and register_event: handlers run later, on the worker pool, with their own context;
the queue is bounded and drops (with Nakama's warning) when full."""

from __future__ import annotations

import asyncio
import logging

import pytest

from host.runtime import CallContext, HostOps
from host.runtime.events import EventQueue
from tests.runtime.helpers import call, rpc_vm

# The handler reports what it received through stream_send_raw (a HostOps the test records).
HANDLER = """
    local nk = require("nakama")
    nk.register_event(function(ctx, evt)
      nk.stream_send_raw({ mode = 99 }, { handler = "first", mode = ctx.execution_mode, user = ctx.user_id or "",
        session = ctx.session_id or "", event = evt })
    end)
    nk.register_event(function(ctx, evt)
      if evt.name == "boom" then error("handler broke") end
      nk.stream_send_raw({ mode = 99 }, { handler = "second", name = evt.name })
    end)
    nk.register_rpc(function(ctx, payload)
      local args = nk.json_decode(payload)
      nk.event(args.name, args.properties, args.timestamp, args.external)
      return "sent"
    end, "emit")
"""


class Recorder:
    def __init__(self, expected: int) -> None:
        self.items: list[dict] = []
        self.done = asyncio.Event()
        self._expected = expected
        self.host = HostOps(stream_send_raw=self._send)

    def _send(self, stream, envelope, targets, reliable) -> None:
        self.items.append(envelope)
        if len(self.items) >= self._expected:
            self.done.set()


async def test_handlers_get_the_event_and_their_own_context(tmp_path, runtimes):
    rec = Recorder(2)
    runtime = await runtimes(tmp_path, {"m.lua": HANDLER}, host=rec.host)
    caller = CallContext(user_id="3e1bb3e8-6a3c-4b3a-9c35-2c9e7c4a1a11", username="ann", session_id="5f9c1bc8-3d35-4a6e-8e2f-5b3a0f1c2d44")
    payload = '{"name": "level_up", "properties": {"level": "7"}, "timestamp": 1700000000, "external": true}'
    assert await runtime.call_rpc("emit", caller, payload) == "sent"
    await asyncio.wait_for(rec.done.wait(), 10)
    first, second = sorted(rec.items, key=lambda e: e["handler"])
    assert first == {
        "handler": "first", "mode": "event", "user": caller.user_id, "session": "",
        "event": {"name": "level_up", "properties": {"level": "7"}, "timestamp": 1700000000, "external": True},
    }
    assert second == {"handler": "second", "name": "level_up"}


class _Failures(logging.Handler):
    """Collects the event-handler failures the runtime logs (on the loop thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "handler failed" in record.getMessage():
            self.messages.append(record.getMessage())
            self.seen.set()


async def test_a_failing_handler_does_not_stop_the_others_or_the_caller(tmp_path, runtimes):
    rec, failures = Recorder(3), _Failures()
    runtime = await runtimes(tmp_path, {"m.lua": HANDLER}, host=rec.host)
    logger = logging.getLogger("nkhost.lua")
    logger.addHandler(failures)
    try:
        assert await runtime.call_rpc("emit", CallContext(), '{"name": "boom"}') == "sent"
        assert await runtime.call_rpc("emit", CallContext(), '{"name": "after"}') == "sent"
        await asyncio.wait_for(rec.done.wait(), 10)
        await asyncio.wait_for(failures.seen.wait(), 10)
    finally:
        logger.removeHandler(failures)
    seen = sorted(f"{e['handler']}:{e['event']['name'] if 'event' in e else e['name']}" for e in rec.items)
    assert seen == ["first:after", "first:boom", "second:after"]
    assert failures.messages == ["runtime_generation=1 event 'boom': handler failed: handler broke"]


async def test_without_a_timestamp_the_event_carries_the_time_it_was_sent(tmp_path, runtimes):
    rec = Recorder(1)
    module = """
        local nk = require("nakama")
        nk.register_event(function(ctx, evt) nk.stream_send_raw({ mode = 99 }, evt) end)
        nk.register_rpc(function() nk.event("plain") return tostring(os.time()) end, "emit")
    """
    runtime = await runtimes(tmp_path, {"m.lua": module}, host=rec.host)
    sent_at = int(await runtime.call_rpc("emit", CallContext(), ""))
    await asyncio.wait_for(rec.done.wait(), 10)
    event = rec.items[0]
    assert event["name"] == "plain" and event["external"] is False and event["properties"] == {}
    assert abs(event["timestamp"] - sent_at) <= 2


@pytest.mark.parametrize(("args", "error"), [
    ("", "bad argument #1 to event (string expected, got nil)"),
    ("''", "bad argument #1 to event (expects name string)"),
    ("'n', 'props'", "bad argument #2 to event (table expected, got string)"),
    ("'n', {1}", "bad argument #2 to event (properties keys must be strings)"),
    ("'n', {k = 1}", "bad argument #2 to event (properties values must be strings)"),
    ("'n', {k = {}}", "bad argument #2 to event (properties values must be strings)"),
    ("'n', nil, 0", "bad argument #3 to event (timestamp must be numeric UTC seconds when provided)"),
    ("'n', nil, 'now'", "bad argument #3 to event (number expected, got string)"),
    ("'n', nil, nil, 'yes'", "bad argument #4 to event (boolean expected, got string)"),
])
def test_argument_errors(tmp_path, args, error):
    vm = rpc_vm(tmp_path, f"local ok, e = pcall(function() nk.event({args}) end) return e")
    assert call(vm) == f"m.lua:4: {error}"


def test_without_a_server_an_event_is_dropped_quietly(tmp_path):
    # nkhost check loads modules without a server: nk.event at the top level must not fail
    vm = rpc_vm(tmp_path, "nk.event('n', {k = 'v'}, -1, true) return 'ok'")
    assert call(vm) == "ok"


async def test_a_full_queue_drops_new_events_with_nakamas_warning(caplog):
    release = asyncio.Event()
    delivered: list[str] = []

    async def deliver(ctx, event):
        await release.wait()
        delivered.append(event["name"])

    queue = EventQueue(2, 1, deliver, lambda: True)
    queue.start()
    try:
        with caplog.at_level(logging.WARNING, "nkhost.runtime"):
            for i in range(6):  # one taken by the consumer, two queued, three dropped
                queue.put(CallContext(), {"name": str(i)})
                await asyncio.sleep(0)
        assert queue.dropped == 3
        assert [r.getMessage() for r in caplog.records] == ["Runtime event queue full, events may be lost (1 dropped)"]
        release.set()
        while len(delivered) < 3:
            await asyncio.sleep(0)
        assert delivered == ["0", "1", "2"]
    finally:
        await queue.close()


async def test_no_handler_means_nothing_is_queued():
    async def deliver(ctx, event):
        raise AssertionError("no handler is registered")

    queue = EventQueue(1, 1, deliver, lambda: False)
    queue.start()
    for _ in range(5):
        queue.put(CallContext(), {"name": "x"})
    assert queue.dropped == 0
    await queue.close()


async def test_the_caller_does_not_wait_for_a_slow_handler(tmp_path, runtimes):
    # The handler holds its worker until the test says "go"; the RPC that sent the event has
    # long returned by then, and a second RPC is served by the other worker meanwhile.
    rec = Recorder(1)
    module = """
        local nk = require("nakama")
        nk.register_event(function(ctx, evt)
          nk.stream_send_raw({ mode = 99 }, { started = true })
          while nk.localcache_get("go") == nil do end
        end)
        nk.register_rpc(function() nk.event("slow") return "sent" end, "emit")
        nk.register_rpc(function() return "pong" end, "ping")
    """
    runtime = await runtimes(tmp_path, {"m.lua": module}, host=rec.host, lua_call_timeout_ms=10000)
    assert await runtime.call_rpc("emit", CallContext(), "") == "sent"
    await asyncio.wait_for(rec.done.wait(), 10)  # the handler is running now
    assert await runtime.call_rpc("ping", CallContext(), "") == "pong"
    runtime._services.cache.put(b"go", True)
