"""The checkpointer contract: what a saver stores and how the executor talks to it.

A thread's history is a tree of checkpoints per ``(thread_id, checkpoint_ns)``. Each checkpoint
holds the state at the start of a superstep (``channel_values``) and the tasks that step will run
(in the hidden ``__tasks__`` channel). While a step runs, each task's outcome is saved as
*pending writes* attached to the checkpoint the step started from, keyed by task id; a task's
newer outcome replaces its older one. When the step completes, the next checkpoint is saved,
together with the step's task writes, in one call (``aput(..., writes=...)``) so a saver can make
it one transaction.

Every method a saver implements is async; savers are used from asyncio and trio alike. The base
class adds LangGraph's sync forms (``get_tuple``, ``list``, ``get``, ``put``, ``put_writes``,
``delete_thread``) on top of them, for every saver (:mod:`._blocking` says where they run).

A :class:`Checkpoint` also reads as LangGraph's checkpoint dict (``checkpoint["channel_values"]``),
and ``put``/``aput`` take such a dict too (:func:`as_checkpoint`), so code written against
LangGraph's ``Checkpoint`` TypedDict works; :func:`empty_checkpoint` and :func:`create_checkpoint`
make one as LangGraph's do.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ._blocking import collect_blocking, run_blocking

__all__ = [
    "Checkpoint",
    "CheckpointTuple",
    "PendingWrite",
    "PutCall",
    "WritesCall",
    "BaseCheckpointSaver",
    "as_checkpoint",
    "create_checkpoint",
    "empty_checkpoint",
    "new_checkpoint_id",
    "thread_config",
]

PendingWrite = tuple[str, str, Any]
"""``(task_id, channel, value)``."""


_FIELD_KEYS = frozenset(("v", "id", "ts", "channel_values", "channel_versions"))
_MAPPING_KEYS = ("v", "id", "ts", "channel_values", "channel_versions", "versions_seen", "updated_channels")


@dataclass(slots=True)
class Checkpoint(Mapping[str, Any]):
    """The state of one thread namespace at the start of a superstep.

    ``channel_values`` maps each non-empty channel (state keys and the hidden ``__tasks__``,
    ``__joins__``, ``__last__``) to its value. ``channel_versions`` maps each channel to an int that
    grows whenever the channel changes; a saver need only store again the channels whose version
    is in ``new_versions``.

    It is also a read-only mapping with the keys of LangGraph's ``Checkpoint`` TypedDict:
    ``checkpoint["id"]`` is ``checkpoint.id`` (the same objects, not copies); ``versions_seen`` is
    always ``{}`` and ``updated_channels`` always ``None``, as streamhil tracks neither.
    """

    id: str
    ts: str
    channel_values: dict[str, Any] = field(default_factory=dict)
    channel_versions: dict[str, int] = field(default_factory=dict)
    v: int = 1

    def __getitem__(self, key: str) -> Any:
        if key in _FIELD_KEYS:
            return getattr(self, key)
        if key == "versions_seen":
            return {}
        if key == "updated_channels":
            return None
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_MAPPING_KEYS)

    def __len__(self) -> int:
        return len(_MAPPING_KEYS)


def as_checkpoint(checkpoint: Checkpoint | Mapping[str, Any]) -> Checkpoint:
    """``checkpoint`` itself, or a :class:`Checkpoint` made from a LangGraph-style checkpoint dict.

    The dict needs ``id``, ``ts``, ``channel_values`` and ``channel_versions``; its
    ``versions_seen``, ``updated_channels`` and ``v`` (LangGraph's format version) are not kept.
    Versions may be ints or LangGraph's version strings (``"00000000000000000000000000000002.0.42"``),
    whose leading number is the version. Raises ``TypeError`` for anything but a mapping and
    ``ConfigError`` naming a missing or malformed key.
    """
    if type(checkpoint) is Checkpoint:
        return checkpoint
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"a checkpoint must be a Checkpoint or a LangGraph checkpoint dict, got {checkpoint!r}")
    missing = [key for key in ("id", "ts", "channel_values", "channel_versions") if key not in checkpoint]
    if missing:
        raise ConfigError(f"the checkpoint dict has no {', '.join(map(repr, missing))}; it has {sorted(checkpoint)}")
    checkpoint_id, ts = checkpoint["id"], checkpoint["ts"]
    values, versions = checkpoint["channel_values"], checkpoint["channel_versions"]
    if not isinstance(checkpoint_id, str) or not isinstance(ts, str):
        raise ConfigError(f"a checkpoint's 'id' and 'ts' must be str, got {checkpoint_id!r} and {ts!r}")
    if not isinstance(values, Mapping) or not isinstance(versions, Mapping):
        raise ConfigError("a checkpoint's 'channel_values' and 'channel_versions' must be mappings")
    return Checkpoint(
        id=checkpoint_id,
        ts=ts,
        channel_values=dict(values),
        channel_versions={channel: _version_number(channel, version) for channel, version in versions.items()},
    )


def _version_number(channel: str, version: Any) -> int:
    """A channel version as streamhil's int: an int, or the leading number of LangGraph's string."""
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, float) and version.is_integer():
        return int(version)
    if isinstance(version, str) and version.split(".", 1)[0].isdigit():
        return int(version.split(".", 1)[0])
    raise ConfigError(f"the version of channel {channel!r} must be an int or a LangGraph version string, got {version!r}")


def empty_checkpoint() -> dict[str, Any]:
    """A new checkpoint with no channels, as LangGraph's ``empty_checkpoint()``: a plain dict with
    the keys of LangGraph's ``Checkpoint``, which ``put``/``aput`` accept."""
    return _checkpoint_dict(new_checkpoint_id(-2), {}, {}, {})


def create_checkpoint(
    checkpoint: Mapping[str, Any],
    channels: Mapping[str, Any] | None,
    step: int,
    *,
    id: str | None = None,
) -> dict[str, Any]:
    """A copy of ``checkpoint`` under a new id (made for ``step``, or ``id``) and timestamp, as
    LangGraph's ``create_checkpoint``. With ``channels=None`` the values are ``checkpoint``'s;
    otherwise they are taken from ``channels`` (name -> value; streamhil has no channel objects),
    for the channels ``checkpoint`` has a version of."""
    versions = checkpoint["channel_versions"]
    if channels is None:
        values = checkpoint["channel_values"]
    else:
        values = {channel: value for channel, value in channels.items() if channel in versions}
    return _checkpoint_dict(
        id or new_checkpoint_id(step), values, versions, checkpoint.get("versions_seen") or {}
    )


def _checkpoint_dict(
    checkpoint_id: str, values: dict[str, Any], versions: Mapping[str, Any], seen: dict[str, Any]
) -> dict[str, Any]:
    return {
        "v": 1,
        "id": checkpoint_id,
        "ts": datetime.now(timezone.utc).isoformat(),
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": seen,
        "pending_sends": [],  # LangGraph's functions still add this legacy key
        "updated_channels": None,
    }


@dataclass(slots=True)
class CheckpointTuple:
    """A checkpoint with its address, metadata, parent and pending writes."""

    config: dict[str, Any]
    checkpoint: Checkpoint
    metadata: dict[str, Any]
    parent_config: dict[str, Any] | None = None
    pending_writes: list[PendingWrite] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PutCall:
    """The arguments of one ``aput``, queued (see :meth:`BaseCheckpointSaver.asave_many`)."""

    config: Mapping[str, Any]
    checkpoint: Checkpoint
    metadata: Mapping[str, Any]
    new_versions: Mapping[str, int]
    writes: Sequence[PendingWrite] = ()


@dataclass(frozen=True, slots=True)
class WritesCall:
    """The arguments of one ``aput_writes``, queued."""

    config: Mapping[str, Any]
    writes: Sequence[tuple[str, Any]]
    task_id: str


def thread_config(thread_id: str, checkpoint_ns: str = "", checkpoint_id: str | None = None) -> dict[str, Any]:
    """The config that addresses one checkpoint (or the latest one when ``checkpoint_id`` is None)."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


_id_lock = threading.Lock()
_last_ns = 0
_node = int.from_bytes(os.urandom(6), "big")


def new_checkpoint_id(step: int = 0) -> str:
    """A time-ordered id, strictly increasing within the process (UUIDv6 layout, as LangGraph's).

    Lexicographic order of ids is creation order, which ``alist`` relies on.
    """
    global _last_ns
    with _id_lock:
        now = time.time_ns() // 100 + 0x01B21DD213814000  # 100 ns ticks since 1582-10-15
        if now <= _last_ns:
            now = _last_ns + 1
        _last_ns = now
    clock_seq = 0x8000 | (step & 0x3FFF)
    return (
        f"{(now >> 28) & 0xFFFFFFFF:08x}-{(now >> 12) & 0xFFFF:04x}-{0x6000 | (now & 0x0FFF):04x}-"
        f"{clock_seq:04x}-{_node:012x}"
    )


class BaseCheckpointSaver(ABC):
    """Stores checkpoints and pending writes. Subclass it and implement the abstract methods.

    Addresses are LangGraph-style configs: ``{"configurable": {"thread_id", "checkpoint_ns",
    "checkpoint_id"}}``; ``checkpoint_ns`` defaults to ``""`` (the root graph).
    """

    saves_instantly: bool = False
    """True for savers whose saves never wait on I/O (memory): ``durability="async"`` then
    saves inline, as a background task would only add scheduling hops."""

    inline_saves: bool = False
    """True for savers that must get a run's saves inline, in step order, as ``durability="sync"``
    does (a server's saver that commits each step's events with its checkpoint needs this)."""

    @abstractmethod
    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """The checkpoint ``config`` addresses (the latest of its thread and namespace when it
        names no ``checkpoint_id``), with its pending writes in the order they were saved;
        ``None`` if there is none."""

    @abstractmethod
    def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Checkpoints, newest first (by id, then thread, then namespace), as LangGraph's savers
        read ``config``: its thread's checkpoints in every namespace when it has no
        ``checkpoint_ns`` (or ``None``), in that namespace alone when it has one (``""``: the
        root graph); every thread's for ``config=None``; only the one it names when it has a
        ``checkpoint_id``. ``filter`` matches metadata keys; ``before`` is a config whose
        ``checkpoint_id`` bounds the ids from above (exclusive); ``limit`` caps the count."""

    @abstractmethod
    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        """Save ``checkpoint`` as a child of the checkpoint ``config`` addresses (if any), and
        ``writes`` as pending writes of that parent, atomically. Values of channels not in
        ``new_versions`` (only its keys are read) are unchanged since the parent. Every value is
        serialised before anything is written: a value that cannot be stored raises
        ``SerializationError`` naming its channel, and nothing is saved. A LangGraph checkpoint
        dict is accepted too (see :func:`as_checkpoint`). Returns the config of the new
        checkpoint."""

    @abstractmethod
    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
    ) -> None:
        """Save ``writes`` (``(channel, value)`` pairs) as the outcome of ``task_id`` on the
        checkpoint ``config`` addresses, replacing that task's earlier writes there. Raises
        ``SerializationError`` (and writes nothing) for a value that cannot be stored."""

    async def asave_many(self, calls: Sequence[PutCall | WritesCall]) -> None:
        """Make the queued calls, in order, each as its own ``aput``/``aput_writes`` would; stop
        at the first that raises (the calls before it are saved, the ones after it are not).

        The executor hands a run's saves over in order; when several are waiting (durability
        ``"async"``), it passes them here together, so a saver that talks to a server can send
        them in one round trip. The default makes one call after another."""
        for call in calls:
            if isinstance(call, PutCall):
                await self.aput(call.config, call.checkpoint, call.metadata, call.new_versions, writes=call.writes)
            else:
                await self.aput_writes(call.config, call.writes, call.task_id)

    @abstractmethod
    async def adelete_thread(self, thread_id: str) -> None:
        """Forget every checkpoint and write of ``thread_id``, in every namespace."""

    async def aget(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """The checkpoint ``config`` addresses (see :meth:`aget_tuple`), without its metadata and
        pending writes; ``None`` if there is none."""
        found = await self.aget_tuple(config)
        return None if found is None else found.checkpoint

    # -- LangGraph's sync forms: each makes the async call, see ._blocking -----------------------

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """:meth:`aget_tuple` from sync code."""
        return run_blocking(lambda: self.aget_tuple(config))

    def get(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """:meth:`aget` from sync code."""
        return run_blocking(lambda: self.aget(config))

    def list(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """:meth:`alist` from sync code. Nothing is read until the first item is asked for; then
        every matching checkpoint is read at once (pass ``limit`` for a long history)."""
        yield from collect_blocking(lambda: self.alist(config, filter=filter, before=before, limit=limit))

    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint | Mapping[str, Any],
        metadata: Mapping[str, Any],
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[PendingWrite] = (),
    ) -> dict[str, Any]:
        """:meth:`aput` from sync code (a LangGraph checkpoint dict is converted first)."""
        saved = as_checkpoint(checkpoint)
        return run_blocking(lambda: self.aput(config, saved, metadata, new_versions, writes=writes))

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """:meth:`aput_writes` from sync code. ``task_path`` is accepted for LangGraph's signature
        and not stored (a task id already names the task)."""
        run_blocking(lambda: self.aput_writes(config, writes, task_id))

    def delete_thread(self, thread_id: str) -> None:
        """:meth:`adelete_thread` from sync code."""
        run_blocking(lambda: self.adelete_thread(thread_id))

    async def aclose(self) -> None:
        """Release connections; the default does nothing."""

    async def __aenter__(self) -> BaseCheckpointSaver:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> BaseCheckpointSaver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass
