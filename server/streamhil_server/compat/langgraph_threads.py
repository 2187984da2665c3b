"""LangGraph Agent Server assistants, threads, state and ``/info`` over HTTP.

Assistants are synthetic: one per graph (``assistant_id`` = uuid5 of the graph name, and the
graph name itself is accepted as an id). A thread may exist before its first run (``POST
/threads``): it then has metadata but no graph and no state. Thread metadata is free-form and
always shows ``graph_id`` once the thread has run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from streamhil.protocol import ErrorCode

from ..errors import CommandError, not_found
from ..runtime import Runtime
from .http_access import invalid, json_response, read_json
from .langgraph_views import (
    assistant_id_for,
    assistant_view,
    find_assistant,
    interrupts_by_task,
    lc_values,
    snapshot_view,
    state_view,
    thread_status,
    ThreadExists,
)
from .supersteps import SeedUpdate, seed_updates

__all__ = ["LangGraphThreads"]

_SORT_KEYS = ("thread_id", "status", "created_at", "updated_at")


def _page(body: Mapping[str, Any]) -> tuple[int, int]:
    limit, offset = body.get("limit", 10), body.get("offset", 0)
    for name, value in (("limit", limit), ("offset", offset)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise invalid(f"{name} must be an integer >= 0, got {value!r}", name)
    return limit, offset


def _matches(metadata: Mapping[str, Any], wanted: Any, path: str = "metadata") -> bool:
    """Whether ``metadata`` holds every key of the filter ``wanted`` (the body field ``path``)."""
    if wanted is None:
        return True
    if not isinstance(wanted, Mapping):
        raise invalid(f"{path} must be an object", path)
    return all(metadata.get(k) == v for k, v in wanted.items())


def _choice(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> Any:
    """The field ``name`` of ``body``: None, or one of ``allowed`` (422 otherwise)."""
    value = body.get(name)
    if value is not None and value not in allowed:
        raise invalid(f"{name} must be one of {', '.join(allowed)}, got {value!r}", name)
    return value


def _checkpoint_id(value: Any, path: str) -> str | None:
    """A checkpoint id given as a string, ``{checkpoint_id}`` or a config (``{configurable: {...}}``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = value.get("configurable", value)
        if isinstance(inner, Mapping) and isinstance(inner.get("checkpoint_id"), str):
            return str(inner["checkpoint_id"])
        if isinstance(inner, Mapping) and inner.get("checkpoint_id") is None:
            return None
    raise invalid(f"{path} must be a checkpoint id or {{checkpoint_id}}", path)


class LangGraphThreads:
    """Assistants, threads and state endpoints; each handler takes ``(request, identity)``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # --- assistants ----------------------------------------------------------------------------

    async def search_assistants(self, request: Request, identity: str) -> Response:
        """``POST /assistants/search {graph_id?, name?, metadata?, limit, offset}``."""
        body = await read_json(request, required=False)
        limit, offset = _page(body)
        found = [assistant_view(e) for e in self.runtime.registry.entries()]
        if body.get("graph_id") is not None:
            found = [a for a in found if a["graph_id"] == body["graph_id"]]
        if body.get("name") is not None:
            found = [a for a in found if str(body["name"]).lower() in a["name"].lower()]
        found = [a for a in found if _matches(a["metadata"], body.get("metadata"))]
        page = found[offset : offset + limit]
        headers = {"x-pagination-total": str(len(found))}
        if offset + limit < len(found):
            headers["x-pagination-next"] = str(offset + limit)
        return json_response(page, headers=headers)

    async def get_assistant(self, request: Request, identity: str) -> Response:
        """``GET /assistants/{assistant_id}`` (an assistant id or a graph name)."""
        wanted = request.path_params["assistant_id"]
        entry = find_assistant(self.runtime.registry, wanted)
        if entry is None:
            raise not_found("assistant", wanted)
        return json_response(assistant_view(entry))

    async def assistant_graph(self, request: Request, identity: str) -> Response:
        """``GET /assistants/{assistant_id}/graph``: nodes and edges."""
        wanted = request.path_params["assistant_id"]
        entry = find_assistant(self.runtime.registry, wanted)
        if entry is None:
            raise not_found("assistant", wanted)
        info = entry.info()
        return json_response({
            "nodes": [{"id": n, "type": "runnable", "data": n} for n in info.nodes],
            "edges": [{"source": e.source, "target": e.target, "conditional": e.conditional} for e in info.edges],
        })

    async def info(self, request: Request, identity: str) -> Response:
        """``GET /info``: what this server supports."""
        return json_response({
            "version": "streamhil",
            "langgraph_py_version": None,
            "flags": {"assistants": True, "crons": False, "langsmith": False, "langsmith_tracing_replicas": False},
            "host": {"kind": "self-hosted", "project_id": None, "revision_id": None, "tenant_id": None},
            "graphs": self.runtime.registry.names(),
        })

    # --- threads -------------------------------------------------------------------------------

    def _owner(self, thread_id: str) -> str | None:
        thread = self.runtime.runs.threads.get(thread_id)
        if thread is not None:
            return thread.record.owner
        meta = self.runtime.thread_metadata.get(thread_id)
        return None if meta is None else meta.owner

    def _require(self, identity: str, thread_id: str) -> None:
        if self._owner(thread_id) != identity:
            raise not_found("thread", thread_id)

    async def thread_view(self, thread_id: str, *, with_values: bool = True) -> dict[str, Any]:
        """LangGraph's ``Thread`` for a thread the caller may see."""
        rt = self.runtime
        thread = rt.runs.threads.get(thread_id)
        meta = rt.thread_metadata.get(thread_id)
        metadata: dict[str, Any] = {}
        if thread is not None:
            metadata.update(graph_id=thread.record.graph, assistant_id=assistant_id_for(thread.record.graph))
        if meta is not None:
            metadata.update(meta.metadata)
        created = [t for t in (meta and meta.created_at, thread and thread.record.created_at) if t]
        updated = [t for t in (meta and meta.updated_at, thread and thread.record.updated_at) if t]
        values: Any = {}
        if thread is not None and with_values:
            state = await rt.runs.current_state(thread)
            values = lc_values(state.get("values")) if state.get("values") is not None else {}
        return {
            "thread_id": thread_id,
            "created_at": min(created),
            "updated_at": max(updated),
            "metadata": metadata,
            "status": thread_status(thread.status) if thread is not None else "idle",
            "values": values,
            "interrupts": interrupts_by_task(thread.record.interrupts) if thread is not None else {},
            "error": thread.record.error if thread is not None else None,
        }

    async def create_thread(self, request: Request, identity: str) -> Response:
        """``POST /threads {thread_id?, metadata?, if_exists?, supersteps?}`` (``supersteps``:
        the new thread's state, see :mod:`.supersteps`)."""
        body = await read_json(request, required=False)
        thread_id = body.get("thread_id") or str(uuid4())
        if not isinstance(thread_id, str) or len(thread_id) > 200:
            raise invalid("thread_id must be a string of at most 200 characters", "thread_id")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise invalid("metadata must be an object", "metadata")
        if body.get("graph_id"):
            metadata = {**metadata, "graph_id": body["graph_id"]}
        if_exists = _choice(body, "if_exists", ("raise", "do_nothing"))
        seeds: list[SeedUpdate] = []
        graph_id = metadata.get("graph_id")
        entry = find_assistant(self.runtime.registry, graph_id) if isinstance(graph_id, str) else None
        if body.get("supersteps"):
            seeds = seed_updates(entry, graph_id, body["supersteps"])
        owner = self._owner(thread_id)
        if owner is not None:
            if owner != identity:  # the id is taken: forbidden, as /ws's start_run answers (docs/server.md, thread ids)
                raise CommandError(
                    ErrorCode.FORBIDDEN, f"thread id {thread_id!r} is not available to you; omit thread_id to have "
                    "the server mint one", path="thread_id",
                )
            if if_exists != "do_nothing":
                raise ThreadExists(thread_id, "; pass if_exists='do_nothing' to get it")
            return json_response(await self.thread_view(thread_id))
        await self.runtime.thread_metadata.create(thread_id, identity, metadata)
        for i, seed in enumerate(seeds):
            assert entry is not None
            try:
                await self.runtime.runs.update_state(
                    identity, thread_id, seed.values, seed.as_node, None, create_with_graph=entry.name
                )
            except CommandError as exc:  # (a reducer refused it: the checks above passed)
                made = f"the thread was made with the {i} before it" if i else "the thread was made without state"
                raise CommandError(
                    exc.code, f"supersteps[{i}]: {exc.message}; {made}", path=f"supersteps[{i}]", details=exc.details
                ) from None
        if not seeds:  # nothing ran on it: no need to hold the run manager's view of it
            return json_response(await self.thread_view(thread_id))
        async with self.runtime.runs.holding(thread_id):
            return json_response(await self.thread_view(thread_id))

    async def get_thread(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}``: status, values, pending interrupts by task."""
        thread_id = request.path_params["thread_id"]
        self._require(identity, thread_id)
        return json_response(await self.thread_view(thread_id))

    async def patch_thread(self, request: Request, identity: str) -> Response:
        """``PATCH /threads/{thread_id} {metadata}``: merge metadata."""
        thread_id = request.path_params["thread_id"]
        self._require(identity, thread_id)
        body = await read_json(request)
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise invalid("metadata must be an object", "metadata")
        await self.runtime.thread_metadata.merge(thread_id, identity, metadata)
        return json_response(await self.thread_view(thread_id))

    async def search_threads(self, request: Request, identity: str) -> Response:
        """``POST /threads/search {metadata?, values?, ids?, status?, limit, offset, sort_by, sort_order}``."""
        rt = self.runtime
        body = await read_json(request, required=False)
        limit, offset = _page(body)
        _choice(body, "status", ("idle", "busy", "interrupted", "error"))
        if body.get("values") is not None and not isinstance(body["values"], Mapping):
            raise invalid("values must be an object", "values")
        stored = await rt.storage.list_threads(owner=identity, limit=rt.runs.statistics().threads + 1)
        ids = {r.thread_id for r in stored} | {t.thread_id for t in rt.runs.threads.values() if t.record.owner == identity}
        if rt.storage.shared:
            await rt.thread_metadata.load()  # threads other processes made too
        ids |= {m.thread_id for m in rt.thread_metadata.records.values() if m.owner == identity}
        if body.get("ids") is not None:
            if not isinstance(body["ids"], list):
                raise invalid("ids must be a list of thread ids", "ids")
            ids &= {str(i) for i in body["ids"]}
        views = []
        for t in ids:
            async with rt.runs.holding(t):  # stored threads are read back into memory for the view
                views.append(await self.thread_view(t, with_values=False))
        if body.get("status") is not None:
            views = [v for v in views if v["status"] == body["status"]]
        views = [v for v in views if _matches(v["metadata"], body.get("metadata"))]
        sort_by = body.get("sort_by") or "updated_at"
        if sort_by not in _SORT_KEYS:
            raise invalid(f"sort_by must be one of {', '.join(_SORT_KEYS)}", "sort_by")
        views.sort(key=lambda v: (v[sort_by], v["thread_id"]), reverse=(body.get("sort_order") or "desc") == "desc")
        wanted_values = body.get("values")
        page = []
        for view in views:
            thread = await rt.runs.load_thread(view["thread_id"])
            if thread is not None:
                state = await rt.runs.current_state(thread)
                view["values"] = lc_values(state.get("values")) if state.get("values") is not None else {}
            if wanted_values is None or _matches(view["values"] if isinstance(view["values"], Mapping) else {}, wanted_values, "values"):
                page.append(view)
            if len(page) >= offset + limit:
                break
        return json_response(page[offset:])

    # --- state ---------------------------------------------------------------------------------

    async def _state(self, identity: str, thread_id: str, checkpoint_id: str | None, subgraphs: bool) -> dict[str, Any]:
        self._require(identity, thread_id)
        if thread_id not in self.runtime.runs.threads:
            if checkpoint_id is not None:
                raise not_found("checkpoint", checkpoint_id)
            return state_view(thread_id, None)
        snapshot = await self.runtime.runs.get_snapshot(identity, thread_id, checkpoint_id, subgraphs=subgraphs)
        return snapshot_view(thread_id, snapshot)

    async def get_state(self, request: Request, identity: str) -> Response:
        """``GET /threads/{thread_id}/state?subgraphs=`` and ``.../state/{checkpoint_id}``."""
        p = request.path_params
        subgraphs = request.query_params.get("subgraphs", "false").lower() in ("1", "true", "yes")
        return json_response(await self._state(identity, p["thread_id"], p.get("checkpoint_id"), subgraphs))

    async def state_at(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/state/checkpoint {checkpoint, subgraphs?}``."""
        body = await read_json(request)
        checkpoint = _checkpoint_id(body.get("checkpoint"), "checkpoint")
        subgraphs = body.get("subgraphs") or False
        if not isinstance(subgraphs, bool):
            raise invalid("subgraphs must be true or false", "subgraphs")
        return json_response(await self._state(identity, request.path_params["thread_id"], checkpoint, subgraphs))

    async def update_state(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/state {values, as_node?, checkpoint?, checkpoint_id?}``."""
        thread_id = request.path_params["thread_id"]
        self._require(identity, thread_id)
        graph = None
        if thread_id not in self.runtime.runs.threads:  # made by POST /threads, not run yet
            graph = self._graph_of_unrun(thread_id)
        body = await read_json(request)
        checkpoint = _checkpoint_id(body.get("checkpoint_id") or body.get("checkpoint"), "checkpoint_id")
        as_node = body.get("as_node")
        if as_node is not None and not isinstance(as_node, str):
            raise invalid("as_node must be a node name", "as_node")
        if graph is not None and checkpoint is not None:
            raise not_found("checkpoint", checkpoint)
        new_id, _ = await self.runtime.runs.update_state(
            identity, thread_id, body.get("values"), as_node, checkpoint, create_with_graph=graph
        )
        return json_response({"checkpoint": {
            "thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": new_id, "checkpoint_map": None,
        }})

    def _graph_of_unrun(self, thread_id: str) -> str:
        """The graph of a thread made before its first run: its ``metadata.graph_id``, as
        LangGraph's server resolves it (422 when it has none)."""
        meta = self.runtime.thread_metadata.get(thread_id)
        graph_id = None if meta is None else meta.metadata.get("graph_id")
        entry = find_assistant(self.runtime.registry, graph_id) if isinstance(graph_id, str) else None
        if entry is None:
            why = "no graph_id in its metadata" if graph_id is None else f"graph_id {graph_id!r}, which names no graph this server serves"
            raise CommandError(
                ErrorCode.INVALID_ARGUMENT,
                f"thread {thread_id!r} has not run yet and has {why}, so there is no graph whose state could be "
                "updated: create it with graph_id, or start a run first",
            )
        return entry.name

    async def history(self, request: Request, identity: str) -> Response:
        """``POST /threads/{thread_id}/history {limit, before?, metadata?}``: states, newest first;
        the ``metadata`` filter picks checkpoints before ``limit`` counts them."""
        thread_id = request.path_params["thread_id"]
        self._require(identity, thread_id)
        body = await read_json(request, required=False)
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise invalid(f"limit must be an integer >= 1, got {limit!r}", "limit")
        wanted = body.get("metadata")
        if wanted is not None and not isinstance(wanted, Mapping):
            raise invalid("metadata must be an object", "metadata")
        if thread_id not in self.runtime.runs.threads:
            return json_response([])
        before = _checkpoint_id(body.get("before"), "before")
        # filtered before the limit is applied, as LangGraph's checkpointers do
        states, _ = await self.runtime.runs.get_history(identity, thread_id, limit, before, metadata=wanted or None)
        return json_response([state_view(thread_id, s) for s in states])
