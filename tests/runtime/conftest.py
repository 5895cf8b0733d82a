from __future__ import annotations

import pytest_asyncio

from tests.runtime.helpers import start_runtime


@pytest_asyncio.fixture
async def runtimes():
    """Start runtimes with ``await runtimes(tmp_path, files, ...)``; all are closed after the test."""
    started = []

    async def start(*args, **kwargs):
        runtime = await start_runtime(*args, **kwargs)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        await runtime.close()
