"""The worker -> loop outbox: FIFO order, one wake-up per burst, answers without blocking the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from host.runtime.nk import NAMES
from host.runtime.outbox import LoopTimeout, Outbox
from tests.runtime.helpers import call, rpc_vm


async def test_posts_and_asks_run_in_fifo_order_with_batched_wakeups():
    loop = asyncio.get_running_loop()
    outbox = Outbox(loop)
    seen: list[int] = []
    wakeups = 0
    original = loop.call_soon_threadsafe

    def counting(*args):
        nonlocal wakeups
        wakeups += 1
        return original(*args)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    answers: list[int] = []
    finished = asyncio.Event()

    def worker():
        for i in range(2000):
            if i % 500 == 499:
                answers.append(outbox.ask(5.0, lambda n=i: (seen.append(n), len(seen))[1]))
            else:
                outbox.post(seen.append, i)
        loop.call_soon_threadsafe(finished.set)

    try:
        thread = threading.Thread(target=worker)
        thread.start()
        await finished.wait()
        thread.join()
    finally:
        del loop.call_soon_threadsafe
    while len(seen) < 2000:  # the last posts may still be queued behind the finish signal
        await asyncio.sleep(0)
    assert seen == list(range(2000))
    assert answers == [500, 1000, 1500, 2000]
    assert wakeups < 2000


async def test_ask_times_out_and_errors_come_back():
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
