"""The checks every storage backend must pass (the contract in ``streamhil_server/storage/base.py``).

Each ``check_*`` coroutine takes a fresh, open :class:`Storage` and asserts one part of the
contract; ``CHECKS`` lists them. A new backend (PostgreSQL...) runs them all with one
parametrised test, as ``tests/server/test_storage.py`` does for memory and SQLite. The
library's checkpointer suite (``tests/checkpoint/conformance.py``) also runs on a
:class:`StorageSaver` over each backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest
from streamhil.checkpoint._records import Address, ListScope, encode_changed, encode_metadata
from streamhil.checkpoint.base import Checkpoint, new_checkpoint_id
from streamhil_server.storage import EventRow, RunRecord, Storage, ThreadRecord, Write
from streamhil_server.storage.records import CheckpointPut, WritesPut

__all__ = ["CHECKS", "StorageCheck"]

StorageCheck = Callable[[Storage], Awaitable[None]]


def _checkpoint(values: dict, step: int = 0) -> Checkpoint:
    return Checkpoint(new_checkpoint_id(step), "2026-01-01T00:00:00+00:00", dict(values), {k: 1 for k in values})


def _put(thread_id: str, parent: str | None, values: dict, writes: dict | None = None) -> CheckpointPut:
    cp = _checkpoint(values)
    return CheckpointPut(
        Address(thread_id, "", parent), cp, encode_metadata({"step": 0}), encode_changed(cp, cp.channel_versions),
        writes or {},
    )


def _events(thread_id: str, seqs: range, run_id: str = "r") -> list[EventRow]:
    return [EventRow(thread_id, s, run_id, f'{{"seq":{s}}}') for s in seqs]


async def check_a_write_is_all_or_nothing(storage: Storage) -> None:
    await storage.write(Write(thread_id="t", events=_events("t", range(1, 3))))
    bad = Write(
        thread_id="t",
        checkpoint=_put("t", None, {"x": 1}),
        threads=[ThreadRecord("t", "g", "alice")],
        runs=[RunRecord("r-1", "t", "start", "queued", {})],
        answered=[("t", "i-1")],
        events=_events("t", range(2, 4)),  # seq 2 is stored already: this write must fail whole
    )
    failures: list[BaseException] = []
    bad.after_failure.append(failures.append)
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error for a duplicate seq
        await storage.write(bad)
    assert len(failures) == 1
    assert await storage.get_checkpoint(Address("t", "", None)) is None
    assert await storage.load_thread("t") is None
    assert await storage.load_runs() == []
    assert await storage.answered_among("t", ["i-1"]) == []
    assert await storage.event_bounds("t") == (1, 2)


async def check_writes_commit_in_order_and_call_back_in_order(storage: Storage) -> None:
    order: list[int] = []

    async def one(n: int) -> None:
        write = Write(thread_id=f"t{n % 5}", events=_events(f"t{n % 5}", range(n // 5 + 1, n // 5 + 2)))
        write.after_commit.append(lambda: order.append(n))
        await storage.write(write)
        assert n in order  # never returns before its commit

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for n in range(100):
                tg.start_soon(one, n)
                if n % 10 == 0:
                    await anyio.lowlevel.checkpoint()
    assert sorted(order) == list(range(100))
    for t in range(5):  # per thread, seq order is call order
        seqs = [s for s, _ in await storage.read_events(f"t{t}", 0, 100)]
        assert seqs == list(range(1, 21))


async def check_one_failing_write_fails_only_its_caller(storage: Storage) -> None:
    await storage.write(Write(thread_id="bad", events=_events("bad", range(1, 2))))
    results: dict[str, BaseException | None] = {}

    async def one(name: str, write: Write) -> None:
        try:
            await storage.write(write)
            results[name] = None
        except Exception as exc:
            results[name] = exc

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for n in range(30):
                tg.start_soon(one, f"good-{n}", Write(thread_id=f"t{n}", events=_events(f"t{n}", range(1, 3)),
                                                       runs=[RunRecord(f"r{n}", f"t{n}", "start", "queued", {"n": n})]))
                if n == 15:
                    tg.start_soon(one, "bad", Write(thread_id="bad", events=_events("bad", range(1, 2)),
                                                    runs=[RunRecord("r-bad", "bad", "start", "queued", {})]))
    assert results.pop("bad") is not None
    assert all(error is None for error in results.values()), results
    runs = await storage.load_runs()
    assert sorted(r.params["n"] for r in runs) == list(range(30))


async def check_checkpoints_latest_by_id_and_writes(storage: Storage) -> None:
    first = _put("t", None, {"x": 1, "y": "a"})
    await storage.write(Write(thread_id="t", checkpoint=first))
    first_id = first.checkpoint.id
    await storage.write(Write(thread_id="t", task_writes=[WritesPut(Address("t", "", first_id), {"task-a": [("x", b"\x01")]})]))
    await storage.write(Write(thread_id="t", task_writes=[WritesPut(Address("t", "", first_id), {"task-b": [("y", b"\x02")]})]))
    await storage.write(Write(thread_id="t", task_writes=[WritesPut(Address("t", "", first_id), {"task-a": [("x", b"\x03")]})]))
    loaded = await storage.get_checkpoint(Address("t", "", None))
    assert loaded is not None
    stored, blobs, writes = loaded
    assert stored.checkpoint_id == first_id and set(blobs) == {"x", "y"}
    assert writes == [("task-a", "x", b"\x03"), ("task-b", "y", b"\x02")]  # a task keeps its first position
    second = _put("t", first_id, {"x": 2, "y": "a"}, {"task-c": [("x", b"\x04")]})
    second.changed = {"x": second.changed["x"]}
    second.checkpoint.channel_versions = {"x": 2, "y": 1}
    await storage.write(Write(thread_id="t", checkpoint=second))
    latest = await storage.get_checkpoint(Address("t", "", None))
    assert latest is not None and latest[0].checkpoint_id == second.checkpoint.id
    assert latest[0].values_from["y"] == first_id  # unchanged values are shared, not copied
    assert latest[0].parent_id == first_id and set(latest[1]) == {"x", "y"}
    parent = await storage.get_checkpoint(Address("t", "", first_id))
    assert parent is not None and [w[0] for w in parent[2]] == ["task-a", "task-b", "task-c"]
    listed = [loaded[0].checkpoint_id async for loaded in storage.list_checkpoints(ListScope("t", ""))]
    assert listed == [second.checkpoint.id, first_id]
    assert [x[0].checkpoint_id async for x in storage.list_checkpoints(ListScope("t", ""), before=second.checkpoint.id)] == [first_id]
    assert [x[0].checkpoint_id async for x in storage.list_checkpoints(ListScope("t", ""), limit=1)] == [second.checkpoint.id]
    assert [x async for x in storage.list_checkpoints(ListScope("t", ""), filter={"step": 7})] == []
    assert await storage.get_checkpoint(Address("other", "", None)) is None


async def check_threads_list_filter_page_and_count(storage: Storage) -> None:
    for n in range(6):
        record = ThreadRecord(
            f"t{n}", "g" if n % 2 else "h", "alice" if n < 5 else "bob", status="interrupted" if n % 3 == 0 else "idle",
            interrupts=[{"id": f"i{n}"}] if n % 3 == 0 else [], updated_at=f"2026-01-0{n + 1}", metadata={"n": n},
        )
        await storage.write(Write(thread_id=record.thread_id, threads=[record], events=_events(record.thread_id, range(1, n + 2))))
    mine = await storage.list_threads(owner="alice")
    assert [t.thread_id for t in mine] == ["t4", "t3", "t2", "t1", "t0"]  # most recently updated first
    assert [t.head_seq for t in mine] == [5, 4, 3, 2, 1] and mine[0].metadata == {"n": 4}
    assert [t.thread_id for t in await storage.list_threads(owner="alice", statuses=["interrupted"])] == ["t3", "t0"]
    assert [t.thread_id for t in await storage.list_threads(owner="alice", graph="g")] == ["t3", "t1"]
    assert [t.thread_id for t in await storage.list_threads(owner="alice", limit=2, offset=1)] == ["t3", "t2"]
    assert [t.thread_id for t in await storage.list_threads(owner="alice", exclude=["t4", "t2"])] == ["t3", "t1", "t0"]
    one = await storage.load_thread("t3")
    assert one is not None and one.interrupts == [{"id": "i3"}] and one.head_seq == 4 and one.owner == "alice"
    assert await storage.load_thread("nope") is None
    several = await storage.load_threads(["t3", "nope", "t0", "t3"])  # one read; unknown ids left out
    assert sorted(several, key=lambda t: t.thread_id) == [await storage.load_thread("t0"), one]
    assert await storage.load_threads([]) == []
    counts = await storage.count_threads()
    assert (counts.threads, counts.interrupts_pending) == (6, 2)


async def check_runs_answers_and_events(storage: Storage) -> None:
    await storage.write(Write(thread_id="t", runs=[
        RunRecord("r1", "t", "start", "queued", {"input": {"a": [1, 2]}}, created_at="2026-01-01"),
        RunRecord("r2", "t", "resume", "running", {}, created_at="2026-01-02"),
        RunRecord("r3", "u", "start", "done", {}, created_at="2026-01-03", ended_at="2026-01-04"),
    ]))
    assert [r.run_id for r in await storage.load_runs()] == ["r1", "r2"]  # open runs, oldest first
    assert (await storage.load_runs())[0].params == {"input": {"a": [1, 2]}}
    assert [r.run_id for r in await storage.load_runs(("done",))] == ["r3"]
    assert [r.run_id for r in await storage.load_runs(thread_id="u", statuses=("done",))] == ["r3"]
    # a run saved again (it started) keeps its created_at: its place in the queue at the next start
    await storage.save_run(RunRecord("r1", "t", "start", "running", {}, created_at="2026-01-05"))
    assert [(r.run_id, r.status, r.created_at) for r in await storage.load_runs()] == [
        ("r1", "running", "2026-01-01"), ("r2", "running", "2026-01-02")
    ]
    await storage.finish_run(RunRecord("r2", "t", "resume", "cancelled", {}, created_at="2026-01-02", ended_at="x"))
    assert [r.run_id for r in await storage.load_runs()] == ["r1"]
    await storage.record_answer("t", None, ["i1", "i2"], RunRecord("r4", "t", "resume", "queued", {}))
    assert await storage.answered_among("t", ["i2", "i3", "i1"]) == ["i2", "i1"]
    await storage.append_events(_events("t", range(1, 11)))
    assert [s for s, _ in await storage.read_events("t", 3, 6)] == [4, 5, 6]
    await storage.write(Write(trim_events=[("t", 4)]))
    assert await storage.event_bounds("t") == (5, 10)
    assert await storage.event_bounds("nope") is None


async def check_delete_thread_forgets_everything(storage: Storage) -> None:
    put = _put("t", None, {"x": 1})
    await storage.write(Write(
        thread_id="t", checkpoint=put, threads=[ThreadRecord("t", "g", "alice")], events=_events("t", range(1, 3)),
        runs=[RunRecord("r", "t", "start", "queued", {})], answered=[("t", "i")],
    ))
    await storage.write(Write(thread_id="u", threads=[ThreadRecord("u", "g", "alice")]))
    await storage.delete_thread("t")
    assert await storage.get_checkpoint(Address("t", "", None)) is None
    assert await storage.load_thread("t") is None and await storage.event_bounds("t") is None
    assert await storage.load_runs() == [] and await storage.answered_among("t", ["i"]) == []
    assert await storage.load_thread("u") is not None


async def check_epoch_is_set(storage: Storage) -> None:
    assert storage.epoch.startswith("e-")


CHECKS: list[StorageCheck] = [
    check_a_write_is_all_or_nothing,
    check_writes_commit_in_order_and_call_back_in_order,
    check_one_failing_write_fails_only_its_caller,
    check_checkpoints_latest_by_id_and_writes,
    check_threads_list_filter_page_and_count,
    check_runs_answers_and_events,
    check_delete_thread_forgets_everything,
    check_epoch_is_set,
]
