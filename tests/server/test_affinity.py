"""``--cpu-affinity``: parsed strictly, refused clearly, and every thread of the served process
kept on the CPU it names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import anyio
import pytest

from streamhil_server.affinity import parse_cpu_affinity, pin

TIMEOUT = 20


def test_values_are_parsed_or_refused_with_the_expected_form() -> None:
    assert parse_cpu_affinity("none") == "none" and parse_cpu_affinity(" AUTO ") == "auto"
    assert parse_cpu_affinity("1") == (1,)
    assert parse_cpu_affinity("0,2-4,2") == (0, 2, 3, 4)
    for bad in ("", "x", "-1", "3-1", "1,,2", "0.5", "one"):
        with pytest.raises(SystemExit, match="expected none, auto, or CPU numbers"):
            parse_cpu_affinity(bad)


def test_a_cpu_the_process_may_not_use_is_refused_and_nothing_changes() -> None:
    before = os.sched_getaffinity(0)
    outside = max(before) + 1
    with pytest.raises(SystemExit, match=f"may not run on CPU {outside}; it may use"):
        pin((outside,))
    assert os.sched_getaffinity(0) == before
    assert pin("none") is None and os.sched_getaffinity(0) == before


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_served_process_and_its_threads_stay_on_the_cpu_named() -> None:
    cpu = max(os.sched_getaffinity(0))
    process = await anyio.open_process(
        [sys.executable, "-m", "streamhil_server", "--demo", "--port", "0", "--cpu-affinity", str(cpu)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        text = ""
        with anyio.fail_after(TIMEOUT):
            async for chunk in process.stdout:
                text += chunk.decode()
                if f"kept on CPU {cpu}" in text:
                    break
        threads = os.listdir(f"/proc/{process.pid}/task")
        assert threads and all(os.sched_getaffinity(int(t)) == {cpu} for t in threads)
    finally:
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(TIMEOUT):
            await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()
