"""State, history, ``update_state``, thread lists and counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import anyio
import orjson

from streamhil.errors import (
    CheckpointError,
    InvalidUpdateError,
)
from streamhil.protocol import ErrorCode, EventKind

from ..encoding import state_wire
from ..errors import CommandError
from ..storage.records import ThreadRecord, Write
from ..threads import RunStatistics, ThreadRuntime
from .admission import RunAdmission

__all__ = ["RunQueries"]


class RunQueries(RunAdmission):
    """State, history, ``update_state``, thread lists and counters."""

    async def get_state(self, identity: str, thread_id: str, checkpoint_id: str | None) -> dict[str, Any]:
        return state_wire(await self.get_snapshot(identity, thread_id, checkpoint_id))

    async def get_snapshot(
        self, identity: str, thread_id: str, checkpoint_id: str | None, *, subgraphs: bool = False
    ) -> Any:
        """The thread's ``StateSnapshot`` (at ``checkpoint_id``), with its subgraphs' states
        in ``tasks[].state`` when ``subgraphs``."""
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            if checkpoint_id is not None:
                await self._require_checkpoint(thread, graph, checkpoint_id)
            return await graph.aget_state(self._config(thread_id, checkpoint_id), subgraphs=subgraphs)

    async def _require_checkpoint(self, thread: ThreadRuntime, graph: Any, checkpoint_id: str, path: str = "checkpoint_id") -> None:
        saver = graph.saver
        saved = None if saver is None else await saver.aget_tuple(
            {"configurable": {"thread_id": thread.thread_id, "checkpoint_ns": "", "checkpoint_id": checkpoint_id}}
        )
        if saved is None:
            raise CommandError(
                ErrorCode.NOT_FOUND,
                f"thread {thread.thread_id!r} has no checkpoint {checkpoint_id!r}",
                path=path,
                details={"resource": "checkpoint"},
            )

    async def get_history(
        self, identity: str, thread_id: str, limit: int, before: str | None, *, max_bytes: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[list[Any], str | None]:
        """A page of the thread's checkpoints, newest first, of at most ``limit`` items and about
        ``max_bytes`` of JSON (at least one item); and the ``before`` of the next page, if any.
        ``metadata``: only checkpoints whose metadata has these keys and values, filtered before
        the page is cut (as LangGraph's ``get_state_history(filter=..., limit=...)``)."""
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            before_config = None
            if before is not None:
                await self._require_checkpoint(thread, graph, before, "before")
                before_config = self._config(thread_id, before)
            history: list[Any] = []
            size = 0
            next_before: str | None = None
            async for snapshot in graph.aget_state_history(
                self._config(thread_id), filter=metadata, before=before_config, limit=limit + 1
            ):
                item = state_wire(snapshot)
                item_size = len(orjson.dumps(item, default=str)) if max_bytes is not None else 0
                if len(history) == limit or (history and max_bytes is not None and size + item_size > max_bytes):
                    next_before = history[-1]["checkpoint_id"]
                    break
                history.append(item)
                size += item_size
            return history, next_before

    async def update_state(
        self, identity: str, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None,
        *, create_with_graph: str | None = None, command_id: str | None = None,
    ) -> tuple[str, int]:
        """``update_state``; returns the new checkpoint id and the ``state_updated`` event's seq.
        ``create_with_graph``: the graph of a thread that does not exist yet (made before its
        first run, by ``POST /threads`` with a ``graph_id``), which this creates. ``command_id``:
        the forwarded command this carries out (its reply goes with the new checkpoint's write)."""
        if create_with_graph is not None:
            await self._create_stateless(identity, thread_id, create_with_graph)
        async with self.using(identity, thread_id) as thread:
            graph = self.entry(thread).graph
            if as_node is not None and as_node not in graph.nodes and as_node not in ("__start__", "__end__", "__input__", "__copy__"):
                raise CommandError(ErrorCode.INVALID_ARGUMENT, f"graph {thread.record.graph!r} has no node {as_node!r}", path="as_node")
            async with thread.lock:
                if thread.busy:  # update_state does not queue (no if_busy)
                    raise self._busy(thread, queueable=False)
                if checkpoint_id is not None:
                    await self._require_checkpoint(thread, graph, checkpoint_id)
                # the seq its state_updated event will have: nothing else publishes on the thread meanwhile
                outcome = self._outcome(command_id, [None, self.hub.head(thread_id) + 1], checkpoint_of=thread_id)
                try:
                    config = await self._with_checkpoint_write(
                        thread_id, outcome, graph.aupdate_state(self._config(thread_id, checkpoint_id), values, as_node=as_node)
                    )
                except (InvalidUpdateError, CheckpointError, ValueError) as exc:
                    raise CommandError(ErrorCode.INVALID_ARGUMENT, str(exc), path="values") from None
                except Exception as exc:  # a reducer refused the values (user code): nothing was saved
                    raise CommandError(
                        ErrorCode.INVALID_ARGUMENT, f"the graph refused the update: {type(exc).__name__}: {exc}", path="values"
                    ) from None
                new_id = str(config["configurable"]["checkpoint_id"])
                record = await self._settle(thread, graph, error=None)
                seq = self.hub.publish(thread_id, EventKind.STATE_UPDATED, None, {"checkpoint_id": new_id, "as_node": as_node})
                write = self.hub.take(thread_id, checkpoint=False)
                write.threads.append(record)
                with anyio.CancelScope(shield=True):
                    await self.storage.write(write)
                self._adopt(thread, record)
                return new_id, seq

    async def _create_stateless(self, identity: str, thread_id: str, graph: str) -> None:
        """Make and store the thread ``thread_id`` of ``graph`` for ``identity``, with no state
        yet, unless it exists (whose it is, :meth:`using` checks)."""
        if await self._load(thread_id) is not None:
            return
        if self.registry.get(graph) is None:
            raise CommandError(
                ErrorCode.NOT_FOUND, f"graph {graph!r} not found; this server serves: {', '.join(self.registry.names()) or 'none'}",
                path="graph", details={"resource": "graph"},
            )
        await self.check_reservation(identity, thread_id)
        thread = self.threads.get(thread_id)  # created meanwhile?
        if thread is None:
            self.hub.create(thread_id)
            thread = self.threads.add(ThreadRuntime(ThreadRecord(thread_id=thread_id, graph=graph, owner=identity), stored=False))
        thread.users += 1
        try:
            async with thread.lock:
                if not thread.stored:
                    with anyio.CancelScope(shield=True):
                        await self.storage.write(Write(thread_id=thread_id, threads=[replace(thread.record)]))
                    thread.stored = True
                    self._thread_count += 1
        finally:
            thread.users -= 1
            if not thread.stored and not thread.users and self.threads.get(thread_id) is thread:
                self.threads.discard(thread_id)  # its write failed: nothing was made, nothing is kept
                self.hub.forget(thread_id)

    async def list_threads(
        self, identity: str, status: tuple[str, ...] | None, graph: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """The caller's threads, most recently updated first: busy ones from memory (their
        stored status is the one before the run), the others from the storage."""
        busy = [t for t in self.threads if t.busy and t.record.owner == identity and (graph is None or t.record.graph == graph)]
        listed: list[tuple[ThreadRecord, ThreadRuntime | None]] = []
        if status is None or "running" in status:
            listed += [(t.record, t) for t in busy]
        if self.storage.shared:
            # Other processes run threads too: the table says which (a run queued or running).
            stored = await self.storage.list_threads(
                owner=identity, statuses=status, graph=graph, exclude=[t.thread_id for t in busy], limit=offset + limit,
            )
            listed += [(record, None) for record in stored]
            listed.sort(key=lambda item: (item[0].updated_at, item[0].thread_id), reverse=True)
            return [self._info(record, held) for record, held in listed[offset : offset + limit]]
        settled = None if status is None else [s for s in status if s != "running"]
        if settled is None or settled:
            stored = await self.storage.list_threads(
                owner=identity, statuses=settled, graph=graph, exclude=[t.thread_id for t in busy], limit=offset + limit,
            )
            held_ids = {t.thread_id for t in self.threads}
            for record in stored:
                held = self.threads.get(record.thread_id) if record.thread_id in held_ids else None
                if held is not None and held.busy:
                    continue  # became busy meanwhile: listed above (or filtered out)
                listed.append((held.record if held is not None else record, held))
        listed.sort(key=lambda item: (item[0].updated_at, item[0].thread_id), reverse=True)
        return [self._info(record, held) for record, held in listed[offset : offset + limit]]

    def _info(self, record: ThreadRecord, held: ThreadRuntime | None) -> dict[str, Any]:
        loaded = held is not None and self.hub.loaded(record.thread_id)
        if held is not None:
            status, run_id = held.status, held.run_id
        elif record.open_run is not None:  # running on another process
            status, run_id = "running", record.open_run
        else:
            status, run_id = record.status, None
        return {
            "thread_id": record.thread_id,
            "graph": record.graph,
            "status": status,
            "run_id": run_id,
            "head_seq": self.hub.head(record.thread_id) if loaded else record.head_seq,
            "interrupts": list(record.interrupts),
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }

    def thread_info(self, thread: ThreadRuntime) -> dict[str, Any]:
        return self._info(thread.record, thread)

    def record_info(self, record: ThreadRecord) -> dict[str, Any]:
        """A stored thread as ``list_threads`` shows it when it is not in memory."""
        return self._info(record, None)

    async def current_state(self, thread: ThreadRuntime) -> dict[str, Any]:
        """The thread's current State as wire JSON (for resync)."""
        snapshot = await self.entry(thread).graph.aget_state(self._config(thread.thread_id))
        return state_wire(snapshot)

    def statistics(self) -> RunStatistics:
        threads = list(self.threads)
        return RunStatistics(
            threads=self._thread_count,
            active_runs=sum(1 for t in threads if t.active is not None),
            queued_runs=sum(len(t.queue) for t in threads),
            runs_started=self._started,
            runs_finished=self._finished,
            interrupts_pending=self._pending_count,
        )
