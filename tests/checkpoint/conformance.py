"""The checks every checkpointer must pass, in the manner of trio's ``check_two_way_stream``.

Each ``check_*`` coroutine takes a fresh, open saver and asserts one part of the contract in
``streamhil/checkpoint/base.py``. ``CHECKS`` lists them all, so a test module runs the whole suite
with one parametrised test; :func:`check_saver` runs them in a row for a saver factory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import anyio
import pytest

from streamhil.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointTuple,
    PutCall,
    WritesCall,
    new_checkpoint_id,
    thread_config,
)
from streamhil.errors import ConfigError, SerializationError
from streamhil.types import Command, Interrupt, Overwrite, Send

__all__ = [
    "CHECKS",
    "Check",
    "check_saver",
    "make_checkpoint",
    "Saved",
    "every_kind",
    "assert_same",
    "use_sync_methods",
]

Check = Callable[[BaseCheckpointSaver], Awaitable[None]]


# -- values of every storable kind -------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = 2


class Point(NamedTuple):
    x: int
    y: tuple[int, ...]


@dataclasses.dataclass
class Note:
    text: str
    tags: list[str] = dataclasses.field(default_factory=list)
    derived: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        self.derived = len(self.text)


@dataclasses.dataclass(frozen=True, slots=True)
class Frozen:
    when: dt.datetime
    payload: Any


class Unstorable:
    """A value no saver can store."""


def every_kind() -> dict[str, Any]:
    """One value of each storable type, nested the way real state nests them."""
    note = Note("hello", ["a"])
    note.derived = 99  # differs from what __post_init__ would compute: must survive as stored
    return {
        "plain": {"s": "é ✓", "i": -3, "f": 1.5, "t": True, "n": None, "l": [1, [2, {"x": []}]]},
        "tuple": (1, (2, "3"), ()),
        "set": {1, "a", (2, 3)},
        "frozenset": frozenset({"x", frozenset({1})}),
        "bytes": b"\x00\xffbin",
        "bytearray": bytearray(b"ab"),
        "aware": dt.datetime(2024, 3, 31, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        "zoned": dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        "naive": dt.datetime(2020, 1, 2, 3, 4, 5, 678),
        "date": dt.date(1999, 12, 31),
        "time": dt.time(23, 59, 1, 5, tzinfo=dt.timezone.utc),
        "delta": dt.timedelta(days=-1, seconds=5, microseconds=7),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "decimal": Decimal("-0.0100"),
        "bigint": 2**100,
        "negbig": -(2**64),
        "inf": float("-inf"),
        "enum": Colour.BLUE,
        "namedtuple": Point(1, (2, 3)),
        "dataclass": note,
        "frozen": Frozen(dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc), {"k": (1,)}),
        "interrupt": Interrupt("Approve?", id="i-1", node="ask", task_id="t", ns="", index=1),
        "command": Command(resume={"i-1": True}, update={"x": 1}, goto=[Send("n", {"a": (1,)})]),
        "overwrite": Overwrite([1, 2]),
        "lookalike": {"__sh__": "tuple", "v": [1]},
        "intkeys": {1: 0.5, 2: {3: [{4: "deep"}]}},
        "mixedkeys": {"s": 1, 2: 2, 2.5: 3, None: 4, (5, "t"): 5, uuid.UUID(int=6): 6, Colour.RED: 7,
                      dt.date(2020, 1, 1): 8, frozenset({9}): 9},
    }


def assert_same(got: Any, want: Any, path: str = "value") -> None:
    """Equal, and of exactly the same types all the way down (1 == 1.0 == True would not do)."""
    assert type(got) is type(want), f"{path}: {type(got)} != {type(want)}"
    if isinstance(want, dict):
        assert len(got) == len(want), f"{path}: keys {list(got)} != {list(want)}"
        for (got_key, got_value), (key, value) in zip(got.items(), want.items()):
            assert_same(got_key, key, f"{path} key {key!r}")  # 1 and 1.0 are one key, not the same
            assert_same(got_value, value, f"{path}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    elif dataclasses.is_dataclass(want):
        for field in dataclasses.fields(want):
            assert_same(getattr(got, field.name), getattr(want, field.name), f"{path}.{field.name}")
    elif isinstance(want, dt.datetime):
        assert (got, got.tzinfo, got.fold) == (want, want.tzinfo, want.fold), path
    elif isinstance(want, dt.time):
        assert (got, got.tzinfo, got.fold) == (want, want.tzinfo, want.fold), path
    elif isinstance(want, float) and want != want:
        assert got != got, path
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


# -- helpers -----------------------------------------------------------------------------------


def make_checkpoint(values: dict[str, Any], versions: dict[str, int], step: int = 0) -> Checkpoint:
    return Checkpoint(
        id=new_checkpoint_id(step),
        ts=dt.datetime.now(dt.timezone.utc).isoformat(),
        channel_values=values,
        channel_versions=versions,
    )


class Saved(NamedTuple):
    config: dict[str, Any]
    checkpoint: Checkpoint


async def put(
    saver: BaseCheckpointSaver,
    parent: dict[str, Any],
    values: dict[str, Any],
    versions: dict[str, int],
    new_versions: dict[str, int] | None = None,
    metadata: dict[str, Any] | None = None,
    writes: list[tuple[str, str, Any]] | None = None,
) -> Saved:
    checkpoint = make_checkpoint(values, versions, step=(metadata or {}).get("step", 0))
    config = await saver.aput(
        parent,
        checkpoint,
        metadata if metadata is not None else {"source": "loop", "step": 0},
        versions if new_versions is None else new_versions,
        writes=writes or (),
    )
    return Saved(config, checkpoint)


async def latest(saver: BaseCheckpointSaver, thread_id: str, ns: str = "") -> CheckpointTuple:
    found = await saver.aget_tuple(thread_config(thread_id, ns))
    assert found is not None, f"no checkpoint for {thread_id!r}/{ns!r}"
    return found


async def collect(items: AsyncIterator[CheckpointTuple]) -> list[CheckpointTuple]:
    return [item async for item in items]


def ids(tuples: list[CheckpointTuple]) -> list[str]:
    return [t.checkpoint.id for t in tuples]


async def chain(saver: BaseCheckpointSaver, thread_id: str, n: int, ns: str = "") -> list[Saved]:
    """``n`` checkpoints in a line, step i has metadata ``{"step": i, "source": ...}``."""
    saved: list[Saved] = []
    parent = thread_config(thread_id, ns)
    for i in range(n):
        source = "input" if i == 0 else "loop"
        s = await put(saver, parent, {"n": i}, {"n": i + 1}, metadata={"step": i, "source": source})
        saved.append(s)
        parent = s.config
    return saved


# -- the checks ---------------------------------------------------------------------------------


async def check_empty(saver: BaseCheckpointSaver) -> None:
    assert await saver.aget_tuple(thread_config("nobody")) is None
    assert await saver.aget_tuple(thread_config("nobody", checkpoint_id=new_checkpoint_id())) is None
    assert await collect(saver.alist(thread_config("nobody"))) == []
    assert await collect(saver.alist(None)) == []


async def check_put_and_get(saver: BaseCheckpointSaver) -> None:
    first = await put(saver, thread_config("t"), {"a": 1, "b": [1]}, {"a": 1, "b": 1},
                      metadata={"source": "input", "step": -1, "parents": {}})
    assert first.config == thread_config("t", "", first.checkpoint.id)
    second = await put(saver, first.config, {"a": 2, "b": [1]}, {"a": 2, "b": 1}, new_versions={"a": 2})
    got = await latest(saver, "t")
    assert got.checkpoint.id == second.checkpoint.id
    assert got.checkpoint.ts == second.checkpoint.ts
    assert got.checkpoint.channel_values == {"a": 2, "b": [1]}
    assert got.checkpoint.channel_versions == {"a": 2, "b": 1}
    assert got.config == second.config
    assert got.parent_config == first.config
    assert got.metadata == {"source": "loop", "step": 0}
    by_id = await saver.aget_tuple(first.config)
    assert by_id is not None
    assert by_id.checkpoint.channel_values == {"a": 1, "b": [1]}
    assert by_id.parent_config is None
    assert by_id.metadata == {"source": "input", "step": -1, "parents": {}}
    assert await saver.aget_tuple(thread_config("t", checkpoint_id=new_checkpoint_id())) is None


async def check_thread_id_is_str(saver: BaseCheckpointSaver) -> None:
    saved = await put(saver, {"configurable": {"thread_id": 7}}, {"a": 1}, {"a": 1})
    assert saved.config == thread_config("7", "", saved.checkpoint.id)
    got = await saver.aget_tuple({"configurable": {"thread_id": "7"}})
    assert got is not None and got.checkpoint.id == saved.checkpoint.id


async def check_bad_config(saver: BaseCheckpointSaver) -> None:
    with pytest.raises(ConfigError, match="thread_id"):
        await saver.aget_tuple({"configurable": {}})
    with pytest.raises(ConfigError, match="thread_id"):
        await put(saver, {}, {"a": 1}, {"a": 1})
    with pytest.raises(ConfigError, match="checkpoint_id"):
        await saver.aput_writes(thread_config("t"), [("a", 1)], "task")
    with pytest.raises(ConfigError, match="parent"):
        await put(saver, thread_config("t"), {"a": 1}, {"a": 1}, writes=[("task", "a", 1)])
    assert await saver.aget_tuple(thread_config("t")) is None


async def check_empty_channels(saver: BaseCheckpointSaver) -> None:
    """A channel may have a version and no value (it was emptied)."""
    first = await put(saver, thread_config("t"), {"a": 1, "__tasks__": [1]}, {"a": 1, "__tasks__": 1})
    await put(saver, first.config, {"a": 1}, {"a": 1, "__tasks__": 2}, new_versions={"__tasks__": 2})
    got = await latest(saver, "t")
    assert got.checkpoint.channel_values == {"a": 1}
    assert got.checkpoint.channel_versions == {"a": 1, "__tasks__": 2}


async def check_list_order_and_filters(saver: BaseCheckpointSaver) -> None:
    saved = await chain(saver, "t", 6)
    await chain(saver, "other", 2)
    want = [s.checkpoint.id for s in reversed(saved)]
    everything = await collect(saver.alist(thread_config("t")))
    assert ids(everything) == want
    assert [t.metadata["step"] for t in everything] == [5, 4, 3, 2, 1, 0]
    assert all(t.config["configurable"]["thread_id"] == "t" for t in everything)
    assert ids(await collect(saver.alist(thread_config("t"), limit=2))) == want[:2]
    assert await collect(saver.alist(thread_config("t"), limit=0)) == []
    before = await collect(saver.alist(thread_config("t"), before=saved[3].config))
    assert ids(before) == want[3:]
    assert ids(await collect(saver.alist(thread_config("t"), before=saved[3].config, limit=1))) == [
        saved[2].checkpoint.id
    ]
    inputs = await collect(saver.alist(thread_config("t"), filter={"source": "input"}))
    assert ids(inputs) == [saved[0].checkpoint.id]
    loops = await collect(saver.alist(thread_config("t"), filter={"source": "loop"}, limit=2))
    assert ids(loops) == want[:2]
    both = await collect(saver.alist(thread_config("t"), filter={"source": "loop", "step": 2}))
    assert ids(both) == [saved[2].checkpoint.id]
    assert await collect(saver.alist(thread_config("t"), filter={"source": "nope"})) == []
    filtered_before = await collect(
        saver.alist(thread_config("t"), filter={"source": "loop"}, before=saved[2].config)
    )
    assert ids(filtered_before) == [saved[1].checkpoint.id]


async def check_list_filter_uses_python_equality(saver: BaseCheckpointSaver) -> None:
    """A metadata filter keeps a checkpoint when ``metadata.get(key) == value`` for every key,
    with Python's equality, as LangGraph's ``InMemorySaver``: ``True == 1 == 1.0``, a tagged
    ``Decimal`` equals an int, nested values compare whole, ``None`` matches a missing key, and
    ``"1" != 1``. (SQL savers pre-check the filter in SQL; this proves the pre-check drops
    nothing Python would keep.)"""
    yes = await put(saver, thread_config("t"), {"a": 1}, {"a": 1}, metadata={
        "flag": True, "n": 1, "s": "1", "x": 2.5, "d": Decimal("7"), "nested": {"a": 1}, "none": None, "big": 2**40,
    })
    no = await put(saver, yes.config, {"a": 2}, {"a": 2}, metadata={
        "flag": False, "n": 0, "s": "é\"'", "x": -0.0, "d": Decimal("7.5"), "nested": {"a": [1]}, "big": -(2**40),
    })
    cases: list[tuple[dict[str, Any], list[Saved]]] = [
        ({"flag": 1}, [yes]), ({"flag": 1.0}, [yes]), ({"flag": True}, [yes]), ({"n": True}, [yes]),
        ({"flag": 0}, [no]), ({"n": False}, [no]), ({"x": 0}, [no]), ({"x": 2.5}, [yes]),
        ({"s": "1"}, [yes]), ({"s": 1}, []), ({"n": "1"}, []), ({"s": "é\"'"}, [no]),
        ({"d": 7}, [yes]), ({"d": 7.5}, [no]), ({"big": 2**40}, [yes]), ({"big": -(2**40)}, [no]),
        ({"nested": {"a": True}}, [yes]), ({"nested": {"a": [1.0]}}, [no]), ({"nested": {}}, []),
        ({"none": None}, [no, yes]), ({"missing": None}, [no, yes]), ({"missing": 0}, []),
        ({"flag": 1, "s": "1", "none": None}, [yes]), ({"flag": 1, "s": 1}, []), ({"n": 2**70}, []),
    ]
    for wanted, found in cases:
        got = ids(await collect(saver.alist(thread_config("t"), filter=wanted)))
        assert got == [s.checkpoint.id for s in found], wanted


async def check_list_by_checkpoint_id(saver: BaseCheckpointSaver) -> None:
    """A config naming a checkpoint_id lists that checkpoint alone (LangGraph's savers filter on
    it), still subject to ``before``, ``filter`` and ``limit``; an id of another namespace or
    thread, or an unknown one, lists nothing."""
    saved = await chain(saver, "t", 4)
    await saver.aput_writes(saved[2].config, [("x", 1)], "task")
    sub = await chain(saver, "t", 2, ns="child:abc")
    await chain(saver, "other", 2)
    mid = saved[2]
    listed = await collect(saver.alist(mid.config))
    assert ids(listed) == [mid.checkpoint.id]
    assert listed[0].config == mid.config and listed[0].parent_config == saved[1].config
    assert listed[0].metadata == {"step": 2, "source": "loop"}
    assert listed[0].pending_writes == [("task", "x", 1)]
    assert ids(await collect(saver.alist(mid.config, before=saved[3].config))) == [mid.checkpoint.id]
    assert await collect(saver.alist(mid.config, before=mid.config)) == []
    assert await collect(saver.alist(mid.config, before=saved[1].config)) == []
    assert ids(await collect(saver.alist(mid.config, filter={"step": 2}))) == [mid.checkpoint.id]
    assert await collect(saver.alist(mid.config, filter={"source": "input"})) == []
    assert ids(await collect(saver.alist(mid.config, limit=1))) == [mid.checkpoint.id]
    assert await collect(saver.alist(mid.config, limit=0)) == []
    assert await collect(saver.alist(thread_config("t", "", "1f0" + "0" * 33))) == []
    assert await collect(saver.alist(thread_config("t", "", sub[0].checkpoint.id))) == []
    assert await collect(saver.alist(thread_config("other", "", mid.checkpoint.id))) == []
    assert ids(await collect(saver.alist(sub[0].config))) == [sub[0].checkpoint.id]
    everything = {"configurable": {**mid.config["configurable"], "checkpoint_id": ""}}  # "" names none
    assert len(await collect(saver.alist(everything))) == 4


async def check_list_branches(saver: BaseCheckpointSaver) -> None:
    """alist spans every branch of a forked history, newest first."""
    root = await put(saver, thread_config("t"), {"x": "root"}, {"x": 1})
    a = await put(saver, root.config, {"x": "a"}, {"x": 2})
    b = await put(saver, root.config, {"x": "b"}, {"x": 2})
    listed = await collect(saver.alist(thread_config("t")))
    assert ids(listed) == [b.checkpoint.id, a.checkpoint.id, root.checkpoint.id]
    assert [t.parent_config for t in listed[:2]] == [root.config, root.config]


async def check_list_all_threads(saver: BaseCheckpointSaver) -> None:
    """``alist(None)`` lists every thread and every namespace, newest first (LangGraph's)."""
    one = await chain(saver, "one", 2)
    two = await chain(saver, "two", 2)
    sub = await chain(saver, "one", 1, ns="sub:1")
    listed = await collect(saver.alist(None))
    want = [s.checkpoint.id for s in (sub[0], two[1], two[0], one[1], one[0])]
    assert ids(listed) == want
    assert listed[0].config == sub[0].config
    assert ids(await collect(saver.alist(None, limit=3))) == want[:3]
    assert ids(await collect(saver.alist(None, filter={"step": 0}))) == [
        sub[0].checkpoint.id,
        two[0].checkpoint.id,
        one[0].checkpoint.id,
    ]
    assert ids(await collect(saver.alist(None, before=two[0].config))) == want[3:]


async def check_list_every_namespace(saver: BaseCheckpointSaver) -> None:
    """A config without ``checkpoint_ns`` (or with ``None``) lists every namespace of its thread,
    newest first; ``checkpoint_ns=""`` lists the root's alone; an id without a namespace is found
    in whichever namespace holds it (LangGraph's savers)."""
    root = await chain(saver, "t", 2)
    sub = await chain(saver, "t", 2, ns="child:1")
    late = await put(saver, root[1].config, {"n": 9}, {"n": 9}, metadata={"step": 2, "source": "loop"})
    await chain(saver, "other", 1, ns="child:1")
    want = [s.checkpoint.id for s in (late, sub[1], sub[0], root[1], root[0])]
    for config in ({"configurable": {"thread_id": "t"}}, {"configurable": {"thread_id": "t", "checkpoint_ns": None}}):
        listed = await collect(saver.alist(config))
        assert ids(listed) == want
        assert [t.config for t in listed] == [s.config for s in (late, sub[1], sub[0], root[1], root[0])]
        assert listed[1].parent_config == sub[0].config
        assert ids(await collect(saver.alist(config, limit=2))) == want[:2]
        assert ids(await collect(saver.alist(config, before=sub[1].config))) == want[2:]
        assert ids(await collect(saver.alist(config, before=sub[1].config, limit=2))) == want[2:4]
        assert ids(await collect(saver.alist(config, filter={"step": 1}))) == [sub[1].checkpoint.id, root[1].checkpoint.id]
    only_root = await collect(saver.alist(thread_config("t")))
    assert ids(only_root) == [late.checkpoint.id, root[1].checkpoint.id, root[0].checkpoint.id]
    assert ids(await collect(saver.alist(thread_config("t", "child:1")))) == [sub[1].checkpoint.id, sub[0].checkpoint.id]
    by_id = {"configurable": {"thread_id": "t", "checkpoint_id": sub[0].checkpoint.id}}
    found = await collect(saver.alist(by_id))
    assert ids(found) == [sub[0].checkpoint.id] and found[0].config == sub[0].config
    assert await collect(saver.alist(by_id, before=sub[0].config)) == []
    assert await collect(saver.alist(by_id, filter={"step": 1})) == []
    assert await collect(saver.alist({"configurable": {"thread_id": "other", "checkpoint_id": sub[0].checkpoint.id}})) == []


async def check_pending_writes(saver: BaseCheckpointSaver) -> None:
    saved = await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
    await saver.aput_writes(saved.config, [("a", 1), ("b", [2])], "task-2")
    await saver.aput_writes(saved.config, [("c", 3)], "task-1")
    got = await latest(saver, "t")
    assert got.pending_writes == [("task-2", "a", 1), ("task-2", "b", [2]), ("task-1", "c", 3)]
    # A task's newer outcome replaces its older one and keeps the task's place.
    await saver.aput_writes(saved.config, [("z", "new"), ("y", (1,))], "task-2")
    got = await latest(saver, "t")
    assert got.pending_writes == [("task-2", "z", "new"), ("task-2", "y", (1,)), ("task-1", "c", 3)]
    # Writes belong to their checkpoint only.
    child = await put(saver, saved.config, {"a": 2}, {"a": 2})
    assert (await latest(saver, "t")).pending_writes == []
    by_id = await saver.aget_tuple(saved.config)
    assert by_id is not None and len(by_id.pending_writes) == 3
    await saver.aput_writes(child.config, [], "task-3")
    assert (await latest(saver, "t")).pending_writes == []


async def check_writes_in_aput(saver: BaseCheckpointSaver) -> None:
    parent = await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
    await saver.aput_writes(parent.config, [("a", "stale")], "t1")
    await saver.aput_writes(parent.config, [("keep", 0)], "t0")
    step_writes = [("t1", "a", 2), ("t2", "b", "x"), ("t1", "c", 3)]
    child = await put(saver, parent.config, {"a": 2}, {"a": 2}, writes=step_writes)
    got_parent = await saver.aget_tuple(parent.config)
    assert got_parent is not None
    assert got_parent.pending_writes == [
        ("t1", "a", 2), ("t1", "c", 3), ("t0", "keep", 0), ("t2", "b", "x"),
    ]
    got_child = await latest(saver, "t")
    assert got_child.checkpoint.id == child.checkpoint.id and got_child.pending_writes == []


async def check_unstorable_saves_nothing(saver: BaseCheckpointSaver) -> None:
    parent = await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
    await saver.aput_writes(parent.config, [("a", "before")], "t1")
    bad_channel = make_checkpoint({"a": 1, "bad": {"deep": [Unstorable()]}}, {"a": 1, "bad": 1})
    with pytest.raises(SerializationError, match=r"channel 'bad'.*\['deep'\]\[0\].*Unstorable"):
        await saver.aput(parent.config, bad_channel, {}, {"bad": 1}, writes=[("t1", "a", "after")])
    bad_write = make_checkpoint({"a": 2}, {"a": 2})
    with pytest.raises(SerializationError, match=r"task 't2'.*channel 'w'.*Unstorable"):
        await saver.aput(parent.config, bad_write, {}, {"a": 2},
                         writes=[("t1", "a", "after"), ("t2", "w", Unstorable())])
    bad_metadata = make_checkpoint({"a": 3}, {"a": 3})
    with pytest.raises(SerializationError, match=r"metadata.*'who'.*Unstorable"):
        await saver.aput(parent.config, bad_metadata, {"who": Unstorable()}, {"a": 3})
    with pytest.raises(SerializationError, match=r"channel 'k'.*has the key .*Unstorable.*dict keys must be"):
        await saver.aput(parent.config, make_checkpoint({"k": {Unstorable(): 2}}, {"k": 1}), {}, {"k": 1})
    got = await latest(saver, "t")
    assert got.checkpoint.id == parent.checkpoint.id
    assert got.pending_writes == [("t1", "a", "before")]
    assert len(await collect(saver.alist(thread_config("t")))) == 1
    with pytest.raises(SerializationError, match=r"task 't1'.*channel 'b'"):
        await saver.aput_writes(parent.config, [("a", "fine"), ("b", lambda: 0)], "t1")
    assert (await latest(saver, "t")).pending_writes == [("t1", "a", "before")]


async def check_unchanged_channels_reuse_parent(saver: BaseCheckpointSaver) -> None:
    """Channels outside ``new_versions`` are not serialised again: the parent's value is used."""
    big = [{"role": "user", "content": str(i)} for i in range(50)]
    first = await put(saver, thread_config("t"), {"big": big, "n": 0}, {"big": 1, "n": 1})
    # The caller says "big" is unchanged; a saver that re-serialised it would fail here.
    second = await put(saver, first.config, {"big": Unstorable(), "n": 1}, {"big": 1, "n": 2},
                       new_versions={"n": 2})
    third = await put(saver, second.config, {"big": Unstorable(), "n": 2}, {"big": 1, "n": 3},
                      new_versions={"n": 3})
    got = await latest(saver, "t")
    assert got.checkpoint.id == third.checkpoint.id
    assert got.checkpoint.channel_values == {"big": big, "n": 2}


async def check_forked_versions_stay_apart(saver: BaseCheckpointSaver) -> None:
    """Two branches may reach the same version of a channel with different values."""
    root = await put(saver, thread_config("t"), {"x": "root", "y": 0}, {"x": 1, "y": 1})
    a = await put(saver, root.config, {"x": "branch a", "y": 0}, {"x": 2, "y": 1}, new_versions={"x": 2})
    b = await put(saver, root.config, {"x": "branch b", "y": 0}, {"x": 2, "y": 1}, new_versions={"x": 2})
    a2 = await put(saver, a.config, {"x": "branch a", "y": 5}, {"x": 2, "y": 2}, new_versions={"y": 2})
    for saved, want in ((a, "branch a"), (b, "branch b"), (a2, "branch a"), (root, "root")):
        got = await saver.aget_tuple(saved.config)
        assert got is not None and got.checkpoint.channel_values["x"] == want


async def check_missing_parent_blob_is_stored(saver: BaseCheckpointSaver) -> None:
    """A channel left out of new_versions that the parent lacks is still saved in full."""
    first = await put(saver, thread_config("t"), {"a": 1}, {"a": 1})
    await put(saver, first.config, {"a": 1, "b": "new"}, {"a": 1, "b": 1}, new_versions={})
    assert (await latest(saver, "t")).checkpoint.channel_values == {"a": 1, "b": "new"}


async def check_history_is_immutable(saver: BaseCheckpointSaver) -> None:
    messages = [{"content": "hi"}]
    extra = ["x"]
    meta: dict[str, Any] = {"source": "loop", "step": 0, "extra": extra}
    saved = await put(saver, thread_config("t"), {"m": messages}, {"m": 1}, metadata=meta)
    await saver.aput_writes(saved.config, [("m", messages)], "task")
    messages.append({"content": "mutated"})
    messages[0]["content"] = "changed"
    extra.append("y")
    got = await latest(saver, "t")
    assert got.checkpoint.channel_values == {"m": [{"content": "hi"}]}
    assert got.pending_writes == [("task", "m", [{"content": "hi"}])]
    assert got.metadata["extra"] == ["x"]
    got.checkpoint.channel_values["m"].append("mine")
    got.metadata["extra"].append("mine")
    again = await latest(saver, "t")
    assert again.checkpoint.channel_values == {"m": [{"content": "hi"}]}
    assert again.metadata["extra"] == ["x"]


async def check_namespaces_are_separate(saver: BaseCheckpointSaver) -> None:
    root = await chain(saver, "t", 2)
    sub = await chain(saver, "t", 3, ns="child:abc")
    assert (await latest(saver, "t")).checkpoint.id == root[-1].checkpoint.id
    got_sub = await latest(saver, "t", "child:abc")
    assert got_sub.checkpoint.id == sub[-1].checkpoint.id
    assert got_sub.config["configurable"]["checkpoint_ns"] == "child:abc"
    assert got_sub.parent_config == sub[-2].config
    assert ids(await collect(saver.alist(thread_config("t")))) == [s.checkpoint.id for s in reversed(root)]
    assert len(await collect(saver.alist(thread_config("t", "child:abc")))) == 3
    assert await saver.aget_tuple(thread_config("t", "", sub[0].checkpoint.id)) is None
    await saver.aput_writes(sub[-1].config, [("x", 1)], "task")
    assert (await latest(saver, "t")).pending_writes == []


async def check_delete_thread(saver: BaseCheckpointSaver) -> None:
    gone = await chain(saver, "gone", 2)
    await chain(saver, "gone", 2, ns="sub:1")
    await saver.aput_writes(gone[-1].config, [("a", 1)], "task")
    kept = await chain(saver, "kept", 2)
    await saver.aput_writes(kept[-1].config, [("a", 1)], "task")
    await saver.adelete_thread("gone")
    assert await saver.aget_tuple(thread_config("gone")) is None
    assert await saver.aget_tuple(thread_config("gone", "sub:1")) is None
    assert await saver.aget_tuple(gone[0].config) is None
    assert await collect(saver.alist(thread_config("gone"))) == []
    assert (await latest(saver, "kept")).pending_writes == [("task", "a", 1)]
    assert ids(await collect(saver.alist(None))) == [s.checkpoint.id for s in reversed(kept)]
    await saver.adelete_thread("never-existed")
    # The thread can start again from scratch.
    again = await chain(saver, "gone", 1)
    assert (await latest(saver, "gone")).checkpoint.id == again[0].checkpoint.id


async def check_list_threads(saver: BaseCheckpointSaver) -> None:
    list_threads = saver.alist_threads  # type: ignore[attr-defined]
    assert await list_threads() == []
    await chain(saver, "a", 1)
    await chain(saver, "b", 1)
    await chain(saver, "a", 1, ns="sub:1")  # a is now the most recently checkpointed
    assert await list_threads() == ["a", "b"]
    await saver.adelete_thread("a")
    assert await list_threads() == ["b"]


async def check_round_trip_every_type(saver: BaseCheckpointSaver) -> None:
    values = every_kind()
    versions = {key: 1 for key in values}
    saved = await put(saver, thread_config("t"), values, versions, metadata={"source": "loop", "step": 0, **values})
    await saver.aput_writes(saved.config, list(values.items()), "task")
    got = await latest(saver, "t")
    assert_same(got.checkpoint.channel_values, every_kind())
    assert_same({k: got.metadata[k] for k in values}, every_kind())
    assert_same(dict((ch, v) for _task, ch, v in got.pending_writes), every_kind())


async def check_concurrent_writers(saver: BaseCheckpointSaver) -> None:
    """Many tasks saving at once lose nothing."""
    parents: dict[str, Saved] = {}
    for n in range(4):
        parents[str(n)] = await put(saver, thread_config(str(n)), {"a": 0}, {"a": 1})

    async def work(thread: str, task: int) -> None:
        await saver.aput_writes(parents[thread].config, [("a", task)], f"task-{task}")
        await put(saver, parents[thread].config, {"a": task}, {"a": 2})

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for thread in parents:
                for task in range(8):
                    tg.start_soon(work, thread, task)
    for thread, parent in parents.items():
        got = await saver.aget_tuple(parent.config)
        assert got is not None
        assert sorted(v for _t, _c, v in got.pending_writes) == list(range(8))
        assert len(await collect(saver.alist(thread_config(thread)))) == 9


async def check_save_many(saver: BaseCheckpointSaver) -> None:
    """asave_many makes its calls in order, as the single calls would, and stops at the first
    that fails: what came before is saved, what comes after is not."""
    first = make_checkpoint({"a": 0, "big": [1, 2]}, {"a": 1, "big": 1})
    second = make_checkpoint({"a": 1, "big": [1, 2]}, {"a": 2, "big": 1})
    fork = make_checkpoint({"o": 1}, {"o": 1})
    third = make_checkpoint({"a": 2, "big": [1, 2]}, {"a": 3, "big": 1})
    root = thread_config("t")
    at = [thread_config("t", "", c.id) for c in (first, second, third)]
    await saver.asave_many([
        PutCall(root, first, {"step": 0}, {"a": 1, "big": 1}),
        WritesCall(at[0], [("a", "w1")], "t1"),
        WritesCall(at[0], [("a", "w0")], "t0"),
        PutCall(at[0], second, {"step": 1}, {"a": 2}, writes=[("t0", "a", "x"), ("t2", "a", "y")]),
        PutCall(root, fork, {"step": 0}, {"o": 1}),  # a second root: history forks
        WritesCall(at[1], [("a", "pending")], "t3"),
        PutCall(at[1], third, {"step": 2}, {"a": 3}),
        PutCall({"configurable": {"thread_id": "u"}}, make_checkpoint({"u": 1}, {"u": 1}), {}, {"u": 1}),
    ])
    got = await latest(saver, "t")
    assert got.checkpoint.id == third.id and got.checkpoint.channel_values == {"a": 2, "big": [1, 2]}
    assert got.metadata == {"step": 2} and got.parent_config == at[1]
    by_first = await saver.aget_tuple(at[0])
    assert by_first is not None
    assert by_first.pending_writes == [("t1", "a", "w1"), ("t0", "a", "x"), ("t2", "a", "y")]
    by_second = await saver.aget_tuple(at[1])
    assert by_second is not None and by_second.pending_writes == [("t3", "a", "pending")]
    assert len(await collect(saver.alist(thread_config("t")))) == 4
    assert (await latest(saver, "u")).checkpoint.channel_values == {"u": 1}
    # A call that cannot be stored: the ones before it are saved, the ones after it are not.
    fourth = make_checkpoint({"a": 3, "big": [1, 2]}, {"a": 4, "big": 1})
    with pytest.raises(SerializationError, match="Unstorable"):
        await saver.asave_many([
            PutCall(at[2], fourth, {"step": 3}, {"a": 4}),
            WritesCall(thread_config("t", "", fourth.id), [("a", Unstorable())], "bad"),
            PutCall(thread_config("t", "", fourth.id), make_checkpoint({"a": 9}, {"a": 9}), {}, {"a": 9}),
        ])
    got = await latest(saver, "t")
    assert got.checkpoint.id == fourth.id and got.pending_writes == []


async def check_list_pages_through_long_history(saver: BaseCheckpointSaver) -> None:
    """Listings longer than a saver's page size come whole, in order, with limit, filter and
    before applied across pages."""
    configs = [s.config for s in await chain(saver, "t", 120)]
    assert [t.config for t in await collect(saver.alist(thread_config("t")))] == configs[::-1]
    assert [t.metadata["step"] for t in await collect(saver.alist(thread_config("t"), filter={"step": 3}))] == [3]
    newest = [t.metadata["step"] for t in await collect(saver.alist(thread_config("t"), limit=70))]
    assert newest == list(range(119, 49, -1))
    everything = [t.config for t in await collect(saver.alist(None, before=configs[60]))]
    assert everything == configs[59::-1]


def use_sync_methods(saver: BaseCheckpointSaver) -> None:
    """LangGraph's sync forms (``put``, ``put_writes``, ``get_tuple``, ``get``, ``list``,
    ``delete_thread``) from sync code: each does what its async form does."""
    first = make_checkpoint({"a": 1}, {"a": 1})
    first_config = saver.put(thread_config("sync"), first, {"source": "input", "step": -1}, {"a": 1})
    assert first_config == thread_config("sync", "", first.id)
    saver.put_writes(first_config, [("a", 5), ("b", [6])], "task-1", "ignored/task/path")
    second = make_checkpoint({"a": 2}, {"a": 2})
    second_config = saver.put(first_config, second, {"source": "loop", "step": 0}, {"a": 2},
                              writes=[("task-2", "a", 2)])
    got = saver.get_tuple(thread_config("sync"))
    assert got is not None and got.checkpoint.id == second.id and got.parent_config == first_config
    assert got.metadata == {"source": "loop", "step": 0} and got.pending_writes == []
    by_id = saver.get_tuple(first_config)
    assert by_id is not None
    assert by_id.pending_writes == [("task-1", "a", 5), ("task-1", "b", [6]), ("task-2", "a", 2)]
    checkpoint = saver.get(first_config)
    assert checkpoint is not None and checkpoint.channel_values == {"a": 1}
    assert saver.get(thread_config("nobody")) is None and saver.get_tuple(thread_config("nobody")) is None
    listed = saver.list(thread_config("sync"))
    assert not isinstance(listed, list)  # an iterator, as LangGraph's
    assert [t.metadata["step"] for t in listed] == [0, -1]
    assert ids(list(saver.list(thread_config("sync"), before=second_config))) == [first.id]
    assert first.id in ids(list(saver.list(None)))
    assert ids(list(saver.list(thread_config("sync"), filter={"source": "input"}))) == [first.id]
    assert ids(list(saver.list(thread_config("sync"), limit=1))) == [second.id]
    assert ids(list(saver.list(first_config))) == [first.id]  # that checkpoint alone, as LangGraph's
    with pytest.raises(ConfigError, match="checkpoint_id"):
        saver.put_writes(thread_config("sync"), [("a", 1)], "task")
    saver.delete_thread("sync")
    assert saver.get_tuple(thread_config("sync")) is None and list(saver.list(thread_config("sync"))) == []


async def check_sync_methods_from_a_worker_thread(saver: BaseCheckpointSaver) -> None:
    """The sync forms called from a worker thread of a running loop (a sync node) run on that
    loop, and see what the async forms saved."""
    saved = await put(saver, thread_config("async"), {"x": 1}, {"x": 1})
    seen = await anyio.to_thread.run_sync(lambda: saver.get_tuple(thread_config("async")))
    assert seen is not None and seen.checkpoint.id == saved.checkpoint.id
    await anyio.to_thread.run_sync(use_sync_methods, saver)
    assert (await latest(saver, "async")).checkpoint.id == saved.checkpoint.id


CHECKS: list[Check] = [
    check_empty,
    check_put_and_get,
    check_thread_id_is_str,
    check_bad_config,
    check_empty_channels,
    check_list_order_and_filters,
    check_list_filter_uses_python_equality,
    check_list_by_checkpoint_id,
    check_list_branches,
    check_list_all_threads,
    check_list_every_namespace,
    check_pending_writes,
    check_writes_in_aput,
    check_unstorable_saves_nothing,
    check_unchanged_channels_reuse_parent,
    check_forked_versions_stay_apart,
    check_missing_parent_blob_is_stored,
    check_history_is_immutable,
    check_namespaces_are_separate,
    check_delete_thread,
    check_list_threads,
    check_round_trip_every_type,
    check_concurrent_writers,
    check_save_many,
    check_list_pages_through_long_history,
    check_sync_methods_from_a_worker_thread,
]


async def check_saver(open_saver: Callable[[], AbstractAsyncContextManager[BaseCheckpointSaver]]) -> None:
    """Run every check, each on a fresh saver from ``open_saver()``."""
    for check in CHECKS:
        async with open_saver() as saver:
            await check(saver)
