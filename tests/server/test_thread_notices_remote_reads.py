"""The notifier's reads of threads other processes changed, when they fail: a storage that is
unavailable is waited for and the threads not yet read are read again once it is back; any other
failure of a read is logged with the threads it concerns, and the other batches, and later
changes of the same threads, are still read."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from streamhil.protocol import Notice, ThreadCreatedNotice
from streamhil_server import notices
from streamhil_server.registry import GraphRegistry
from streamhil_server.runtime import Runtime
from streamhil_server.storage.base import StorageUnavailableError
from streamhil_server.storage.records import ThreadRecord, Write

pytestmark = pytest.mark.anyio


def records(n: int) -> list[ThreadRecord]:
    return [
        ThreadRecord(thread_id=f"t{i}", graph="g", owner="alice", status="interrupted",
                     interrupts=[{"id": f"i{i}", "value": i}], updated_at=f"2026-01-01T00:00:0{i}")
        for i in range(n)
    ]


def heard(notices_: list[Notice]) -> list[str]:
    """The threads a watcher was told of, in order (counters left out)."""
    return [n.thread.thread_id for n in notices_ if isinstance(n, ThreadCreatedNotice)]


class FailingReads:
    """``load_threads`` that fails with ``error`` for the reads of the threads in ``failing``."""

    def __init__(self, real: Any, failing: set[str], error: Exception) -> None:
        self.real, self.failing, self.error = real, failing, error
        self.asked: list[list[str]] = []

    async def __call__(self, thread_ids: Sequence[str]) -> list[ThreadRecord]:
        self.asked.append(list(thread_ids))
        if self.failing & set(thread_ids):
            raise self.error
        result: list[ThreadRecord] = await self.real(thread_ids)
        return result


async def test_an_unavailable_storage_is_waited_for_and_the_unread_threads_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notices, "SNAPSHOT_CHUNK", 1)  # a batch per thread
    async with Runtime(GraphRegistry({})) as runtime:
        notifier, storage = runtime.notifier, runtime.storage
        alice: list[Notice] = []
        await notifier.watch("alice", alice.append)
        await storage.write(Write(threads=records(3)))
        reads = FailingReads(storage.load_threads, {"t1"}, StorageUnavailableError("the database went away"))
        monkeypatch.setattr(storage, "load_threads", reads)

        storage.health.lost("the database went away")
        for thread_id in ("t0", "t1", "t2"):
            notifier.note_remote(thread_id, 3)
        await anyio.wait_all_tasks_blocked()
        # the batches before t1's were read and told; t1's failed, and the notifier waits for
        # the storage before it tries that batch or any after it
        *read, failed = reads.asked
        assert failed == ["t1"] and heard(alice) == [batch[0] for batch in read]
        unread = {"t0", "t1", "t2"} - set(heard(alice))
        reads.asked.clear()

        reads.failing.clear()
        storage.health.restored()
        await anyio.wait_all_tasks_blocked()
        assert sorted(batch[0] for batch in reads.asked) == sorted(unread), "the unread threads, and only they, are read again"
        assert sorted(heard(alice)) == ["t0", "t1", "t2"]


async def test_a_failed_read_is_logged_with_its_threads_and_the_rest_still_read(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read that fails otherwise (a damaged record, a bug) is not retried: it would fail
    again, for ever. The log names the threads whose notices are missed; they are read again
    when another process changes them next."""
    monkeypatch.setattr(notices, "SNAPSHOT_CHUNK", 2)
    async with Runtime(GraphRegistry({})) as runtime:
        notifier, storage = runtime.notifier, runtime.storage
        alice: list[Notice] = []
        await notifier.watch("alice", alice.append)
        await storage.write(Write(threads=records(4)))
        reads = FailingReads(storage.load_threads, {"t1"}, ValueError("a record that cannot be read"))
        monkeypatch.setattr(storage, "load_threads", reads)

        with caplog.at_level(logging.ERROR, logger="streamhil_server.notices"):
            for thread_id in ("t0", "t1", "t2", "t3"):
                notifier.note_remote(thread_id, 3)
            await anyio.wait_all_tasks_blocked()
        failed = [set(batch) for batch in reads.asked if "t1" in batch]
        assert len(failed) == 1, "not retried"
        assert sorted(heard(alice)) == sorted({"t0", "t1", "t2", "t3"} - failed[0])
        [record] = [r for r in caplog.records if r.name == "streamhil_server.notices"]
        assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
        assert all(thread_id in record.getMessage() for thread_id in failed[0])

        reads.failing.clear()  # the task still runs: the next change of those threads is read and told
        for thread_id in failed[0]:
            notifier.note_remote(thread_id, 4)
        await anyio.wait_all_tasks_blocked()
        assert sorted(heard(alice)) == ["t0", "t1", "t2", "t3"]
