"""An answer sent to one process and forwarded to the process holding its thread, which is killed
(``kill -9``) right after it took the command: the sender still learns the real outcome, and the
answer is applied exactly once.

- Killed before carrying it out: nothing of it was stored, so once the lease has run out the
  sender takes the thread over and carries the answer out itself; the client gets an ordinary
  acknowledgement.
- Killed after storing it, before replying: the reply was stored with the answer, in the same
  transaction; the sender acknowledges with it (same run id), and the process that takes the
  thread over runs that run. Nothing is applied twice.

The window is hit with the test hook ``STREAMHIL_TEST_STALL_FORWARDED`` (the holder prints a
line and stalls there): there is no other way to kill a process between two statements.
"""

from __future__ import annotations

import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from streamhil_client import StreamhilClientError

from streamhil_server.runs.forwarding import STALL_HOOK

from .conftest import TIMEOUT, open_clients, reap, start_server_process
from .test_three_processes import GRAPHS, TOKEN, Observer

pytestmark = pytest.mark.anyio

LEASE_TTL = 3.0
"""The holder lets an idle thread's lease go after one to two rounds of ``LEASE_TTL / 3``
seconds: far longer than the test takes to send the second answer (if it did let it go first,
the answer is not forwarded, and the test tries again on a new thread)."""


async def _start(db: str, marker: Path, stall: str) -> tuple[Process, int]:
    return await start_server_process(
        [f"{GRAPHS}:restartable", "--db", db, "--port", "0", "--token", f"alice:{TOKEN}", "--log-level", "warning",
         "--lease-ttl", str(LEASE_TTL)],
        env={"STREAMHIL_E2E_MARKER": str(marker), STALL_HOOK: stall},
    )


async def _second_question(clients: list[Any], ports: list[int], tg: Any) -> tuple[Observer, str, str]:
    """A new thread answered once on the first process (which holds it from then on), at its
    second question; watched from the second process."""
    run = await clients[0].start_run("restartable", {}, stream_modes=["custom", "updates"])
    seen = Observer(run.thread_id)
    await tg.start(seen.watch, ports[1], 1)
    first = await seen.until(lambda e: e.event == "run_interrupted")
    await clients[0].resume(run.thread_id, "one", interrupt_id=first.interrupt_ids[0])
    second = await seen.until(lambda e: e.event == "run_interrupted" and e.seq > first.seq)
    return seen, run.thread_id, second.interrupt_ids[0]


async def _until_stalled(process: Process) -> None:
    assert process.stdout is not None
    text = ""
    async for chunk in TextReceiveStream(process.stdout):
        text += chunk
        if "stalled on forwarded command" in text:
            return
    raise AssertionError(f"the holder ended without taking the forwarded command: {text!r}")


@pytest.mark.parametrize("stall", ["before", "after"])
async def test_an_answer_forwarded_to_a_holder_killed_mid_command_is_acknowledged_and_applied_once(
    postgres_db_url: str, tmp_path: Path, stall: str
) -> None:
    marker = tmp_path / "marker"
    marker.write_text("the slow node goes on")
    servers = [await _start(postgres_db_url, marker, stall) for _ in range(2)]
    holder, sender = servers[0][0], servers[1][0]
    ports = [port for _, port in servers]
    try:
        with anyio.fail_after(TIMEOUT * 2):
            async with AsyncExitStack() as stack:
                clients = await open_clients(stack, ports, TOKEN)
                async with anyio.create_task_group() as tg:
                    for _attempt in range(5):
                        seen, tid, ask2 = await _second_question(clients, ports, tg)
                        # the second answer, on the second process: forwarded to the first, killed there
                        acked: list[Any] = []
                        answered, outcome, stalled = anyio.Event(), anyio.Event(), anyio.Event()
                        watching = anyio.CancelScope()

                        async def answer(tid: str, ask2: str, acked: list[Any], answered: anyio.Event, outcome: anyio.Event) -> None:
                            acked.append(await clients[1].resume(tid, "two", interrupt_id=ask2))
                            answered.set()
                            outcome.set()

                        async def watch_holder(watching: anyio.CancelScope, stalled: anyio.Event, outcome: anyio.Event) -> None:
                            with watching:
                                await _until_stalled(holder)
                                stalled.set()
                                outcome.set()

                        tg.start_soon(watch_holder, watching, stalled, outcome)
                        tg.start_soon(answer, tid, ask2, acked, answered, outcome)
                        await outcome.wait()
                        if stalled.is_set():
                            break
                        # the first process had let the idle thread go before the answer came:
                        # nothing was forwarded; try again on a new thread
                        watching.cancel()
                        seen.stop()
                    else:
                        raise AssertionError("the answer was never forwarded to the first process")
                    holder.send_signal(signal.SIGKILL)
                    await holder.wait()

                    done = await seen.until(lambda e: e.event == "run_done")
                    await answered.wait()  # acknowledged, not an error
                    ack = acked[0]
                    delivered = [
                        e for e in seen.events
                        if e.event == "run_started" and ask2 in (e.answers or {})
                    ]
                    assert [e.run_id for e in delivered] == [ack.run_id]  # applied once, by the acknowledged run
                    assert [e.seq for e in seen.events] == list(range(1, done.seq + 1))
                    state = await clients[1].get_state(tid)
                    assert (state.values["a1"], state.values["a2"]) == ("one", "two")
                    with pytest.raises(StreamhilClientError) as again:
                        await clients[1].resume(tid, "three", interrupt_id=ask2)
                    assert again.value.code in ("already_answered", "nothing_pending")
                    seen.stop()
                    tg.cancel_scope.cancel()
    finally:
        for process, _ in servers:
            if process.returncode is None:
                process.terminate()
        await reap(process for process, _ in servers)
    assert sender.returncode is not None
