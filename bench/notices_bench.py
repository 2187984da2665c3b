"""CPU cost of ``watch_threads`` on the event path: what the hub's tap costs per published event
with no watcher and with one, and what a lifecycle event that sends a notice costs.

    python bench/notices_bench.py [--events 200000]

Reports CPU time per call (steadier than wall time on a shared machine).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import anyio
from streamhil.protocol import Counters, encode
from streamhil_server.notices import ThreadNotifier
from streamhil_server.store import ThreadRecord
from streamhil_server.threads import ThreadRuntime


class _Runs:
    """The part of the run manager the notifier reads: one thread of alice's."""

    def __init__(self) -> None:
        self.threads = {"t-1": ThreadRuntime(ThreadRecord(thread_id="t-1", graph="g", owner="alice"))}

    def list_threads(self, *args: Any) -> list[dict[str, Any]]:
        return []

    def thread_info(self, thread: ThreadRuntime) -> dict[str, Any]:
        return {"thread_id": thread.thread_id, "graph": "g", "status": thread.status, "run_id": thread.run_id,
                "head_seq": 3, "interrupts": [], "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def _per_call(fn: Any, n: int) -> float:
    began = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - began) / n


async def main(events: int) -> None:
    notifier = ThreadNotifier(_Runs(), lambda: Counters())  # type: ignore[arg-type]
    idle = _per_call(lambda: notifier.on_event("t-1", "messages"), events)
    sent: list[str] = []
    watcher, _ = notifier.watch("alice", lambda notice: sent.append(encode(notice)))
    stream = _per_call(lambda: notifier.on_event("t-1", "messages"), events)

    def lifecycle() -> None:
        watcher.known.clear()  # the thread looks new: every call sends a notice
        notifier.on_event("t-1", "run_done")

    notice = _per_call(lifecycle, max(1, events // 10))
    print(f"tap, no watcher:                  {idle * 1e9:8.0f} ns CPU per event")
    print(f"tap, one watcher, stream event:   {stream * 1e9:8.0f} ns CPU per event")
    print(f"lifecycle event sending a notice: {notice * 1e6:8.1f} us CPU per event (encoded frame included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    anyio.run(main, parser.parse_args().events)
