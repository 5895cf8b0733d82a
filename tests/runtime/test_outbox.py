"""The worker -> loop outbox: FIFO order, one wake-up per burst, answers without blocking the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from host.runtime.nk import NAMES
from host.runtime.outbox import LoopTimeout, Outbox
from tests.runtime.helpers import call, rpc_vm


def _counting_wakeups(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Count call_soon_threadsafe calls on ``loop`` (undone by deleting the attribute)."""
    wakeups = [0]
    original = loop.call_soon_threadsafe

    def counting(*args):
        wakeups[0] += 1
        return original(*args)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    return wakeups


async def test_a_burst_of_posts_wakes_the_loop_once():
    loop = asyncio.get_running_loop()
    outbox = Outbox(loop)
    seen: list[int] = []
    wakeups = _counting_wakeups(loop)
    try:
        # The loop is busy (blocked in join) for the whole burst, as when it serves sockets.
        thread = threading.Thread(target=lambda: [outbox.post(seen.append, i) for i in range(2000)])
        thread.start()
        thread.join()
        assert wakeups == [1] and seen == []
        drained = loop.create_future()
        outbox.post(drained.set_result, None)  # queued behind the burst: no new wake-up
        await drained
    finally:
        del loop.call_soon_threadsafe
    assert wakeups == [1] and seen == list(range(2000))


async def test_posts_and_asks_run_in_fifo_order():
    loop = asyncio.get_running_loop()
    outbox = Outbox(loop)
    seen: list[int] = []
    answers: list[int] = []

    def worker():
        for i in range(2000):
            if i % 500 == 499:
                answers.append(outbox.ask(5.0, lambda n=i: (seen.append(n), len(seen))[1]))
            else:
                outbox.post(seen.append, i)
        outbox.post(finished.set)

    finished = asyncio.Event()
    thread = threading.Thread(target=worker)
    thread.start()
    await finished.wait()
    thread.join()
    assert seen == list(range(2000))
    assert answers == [500, 1000, 1500, 2000]


async def test_an_ask_the_loop_does_not_answer_times_out():
    loop = asyncio.get_running_loop()
    outbox = Outbox(loop)
    ran: list[str] = []
    outcome: list[BaseException] = []
    # The loop stays blocked (join) for longer than the ask's timeout, so it cannot answer.
    thread = threading.Thread(target=lambda: outcome.append(_catch(lambda: outbox.ask(0.05, ran.append, "late"))))
    thread.start()
    thread.join()
    assert isinstance(outcome[0], LoopTimeout) and "did not answer" in str(outcome[0]) and ran == []
    done = loop.create_future()
    outbox.post(done.set_result, None)
    await done
    assert ran == ["late"]  # it still runs later, in order; nobody waits for its answer


async def test_ask_errors_come_back_and_a_closed_outbox_refuses():
    outbox = Outbox(asyncio.get_running_loop())

    def boom():
        raise ValueError("from the loop")

    result = await asyncio.to_thread(lambda: _catch(lambda: outbox.ask(5.0, boom)))
    assert isinstance(result, ValueError) and str(result) == "from the loop"
    closed = Outbox(asyncio.get_running_loop())
    closed.close()
    with pytest.raises(LoopTimeout):
        closed.ask(1.0, print)


def _catch(fn):
    try:
        return fn()
    except Exception as exc:
        return exc


def test_every_python_nk_function_is_reachable_from_lua(tmp_path):
    names = ", ".join(f"'{n}'" for n in NAMES)
    vm = rpc_vm(tmp_path, f"local missing = {{}} for _, n in ipairs({{{names}}}) do if type(nk[n]) ~= 'function' then missing[#missing + 1] = n end end return table.concat(missing, ',')")
    assert call(vm) == ""
    assert {"stream_user_join", "json_decode", "localcache_get", "logger_info", "bcrypt_hash"} <= set(NAMES)


async def test_ask_async_runs_coroutines_in_fifo_order_and_returns_their_result():
    loop = asyncio.get_running_loop()
    outbox = Outbox(loop)
    order: list[str] = []

    async def work(name: str) -> str:
        order.append(f"start {name}")
        await asyncio.sleep(0)
        return name.upper()

    def worker() -> list:
        outbox.post(order.append, "posted first")
        return [outbox.ask_async(5.0, work, "a"), outbox.ask_async(5.0, work, "b")]

    assert await asyncio.to_thread(worker) == ["A", "B"]
    assert order == ["posted first", "start a", "start b"]


async def test_ask_async_raises_the_coroutines_exception():
    outbox = Outbox(asyncio.get_running_loop())

    async def fails() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        await asyncio.to_thread(outbox.ask_async, 5.0, fails)


async def test_ask_async_past_the_deadline_cancels_the_coroutine():
    outbox = Outbox(asyncio.get_running_loop())
    cancelled = asyncio.Event()
    never = asyncio.Event()

    async def hangs() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(LoopTimeout):
        await asyncio.to_thread(outbox.ask_async, 0.05, hangs)
    await asyncio.wait_for(cancelled.wait(), 5)
