"""Task calls of the functional API: a call of a ``@task`` function becomes a future, its body runs
beside the caller, and its outcome is saved as pending writes of the call's own id.

A call is identified by its position: the n-th call made by a running entrypoint (or by a
running call) has an id derived from the caller's task id, the task's name and n. An entrypoint
re-runs from its first line when resumed; each call it makes again finds the outcome saved under
that id (``RunScope.calls``) and hands it back without running the body. A call that stopped on
``interrupt()`` runs again only once one of its interrupts has an answer; until then it raises
the same interrupts again.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.abc import TaskGroup

from .._ids import task_id
from .._retry import next_wait
from .._threads import run_sync_node
from ..constants import CALL
from ..errors import GraphInterrupt, NodeTimeoutError
from ..executor.context import current_task, set_current_task
from ..executor.scope import RunScope, TaskContext
from ..executor.view import now_iso
from ..types import Interrupt, RetryPolicy

__all__ = ["CallCancelledError", "TaskFuture", "TaskSpec", "call_task", "run_with_calls"]

T = TypeVar("T")

PUSH = "__pregel_push"  # LangGraph's trigger and path marker of a task call


class CallCancelledError(RuntimeError):
    """The run was cancelled (or the entrypoint failed) before this task call finished."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A ``@task`` function as calls run it."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    retry: tuple[RetryPolicy, ...] = ()
    timeout: float | None = None


class TaskFuture(Generic[T]):
    """The pending result of a task call: ``.result()`` in sync code, ``await`` in async code."""

    def __init__(self, name: str, loop_thread: int | None = None) -> None:
        self.name = name
        self._loop_thread = loop_thread  # the event loop's thread, where .result() must not block
        self.interrupts: tuple[Interrupt, ...] = ()  # when the call stopped on interrupt()
        self._ready = threading.Event()  # for .result() in a worker thread
        self._event: anyio.Event | None = None  # for await on the loop (made there)
        self._value: Any = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"<TaskFuture {self.name!r} {'done' if self.done() else 'running'}>"

    def done(self) -> bool:
        return self._ready.is_set()

    def result(self, timeout: float | None = None) -> T:
        """The call's return value, once it has one (raises what the call raised)."""
        if not self._ready.is_set():
            if threading.get_ident() == self._loop_thread:
                raise RuntimeError(
                    f"Task {self.name!r} has not finished: in an async function, `await` its future "
                    "instead of calling .result() (which would block the event loop)."
                )
            if not self._ready.wait(timeout):
                raise TimeoutError(f"Task {self.name!r} did not finish within {timeout} s.")
        return self._outcome()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        try:
            self.result(timeout)
        except TimeoutError:
            raise
        except BaseException as exc:
            return exc
        return None

    def __await__(self) -> Generator[Any, None, T]:
        return self._wait().__await__()

    async def _wait(self) -> T:
        if not self._ready.is_set():
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()
        return self._outcome()

    def _outcome(self) -> T:
        if self.interrupts:
            raise GraphInterrupt(self.interrupts)
        if self._error is not None:
            raise self._error
        return self._value

    # -- set on the event loop's thread by the call's runner ----------------------------------
    def _arm(self) -> None:
        if self._event is None:
            self._event = anyio.Event()

    def _finish(self, value: Any = None, error: BaseException | None = None,
                interrupts: tuple[Interrupt, ...] = ()) -> None:
        self._value, self._error, self.interrupts = value, error, interrupts
        self._ready.set()
        if self._event is not None:
            self._event.set()


@dataclass(slots=True)
class CallSite:
    """A running entrypoint or task call that makes task calls: it numbers them and runs them in
    the entrypoint's task group."""

    ctx: TaskContext
    group: TaskGroup
    token: anyio.lowlevel.EventLoopToken
    loop_thread: int
    futures: list[TaskFuture[Any]] = field(default_factory=list)

    def start(self, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskFuture[Any]:
        """Start the next call (on the loop's thread): a saved outcome is handed back at once."""
        index = len(self.futures)
        future: TaskFuture[Any] = TaskFuture(spec.name, self.loop_thread)
        future._arm()
        self.futures.append(future)
        run = self.ctx.run
        cid = task_id(self.ctx.task_id, self.ctx.ns, self.ctx.step, spec.name, "call", str(index))
        # As LangGraph's: the call's namespace and path nest under its caller's.
        ns = f"{self.ctx.ns}|{spec.name}:{cid}"
        call = TaskContext(run, cid, spec.name, ns, self.ctx.step, (PUSH, self.ctx.path, index, True), (PUSH,), {})
        _emit_task(run, call, "task", {"id": cid, "name": spec.name, "input": (args, kwargs), "triggers": (PUSH,)})
        saved = run.calls.get(cid)
        if saved is not None:
            if saved[0] == "done":
                future._finish(saved[1])
                return future
            interrupts = tuple(saved[1])
            if not any(i.id in run.resume_map for i in interrupts):
                future._finish(interrupts=interrupts)  # still waiting for an answer: not run again
                return future
            call.answers = {int(k): v for k, v in saved[2]}
        self.group.start_soon(_run_call, self, call, spec, args, kwargs, future)
        return future

    def interrupts(self, raised: GraphInterrupt) -> tuple[Interrupt, ...]:
        """Every interrupt waiting once the caller stopped: its calls' (in call order), then its own."""
        out = [i for f in self.futures for i in f.interrupts]
        seen = {i.id for i in out}
        out += [i for i in raised.interrupts if i.id not in seen]
        return tuple(out)


_SITE: ContextVar[CallSite | None] = ContextVar("streamhil_call_site", default=None)


def call_task(spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskFuture[Any]:
    """Call a task from the running entrypoint or task (or, without saving, from a graph node)."""
    site = _SITE.get()
    if site is None:
        ctx = current_task()
        if ctx is None:
            raise RuntimeError(
                f"Task {spec.name!r} was called outside of an entrypoint or a graph node: "
                "a @task function can only be called while an @entrypoint (or a StateGraph node) runs."
            )
        return _call_in_node(ctx, spec, args, kwargs)
    if threading.get_ident() == site.loop_thread:
        return site.start(spec, args, kwargs)
    return anyio.from_thread.run_sync(site.start, spec, args, kwargs, token=site.token)


async def run_with_calls(ctx: TaskContext, fn: Callable[..., Any], is_async: bool, arg: Any,
                         kwargs: dict[str, Any]) -> Any:
    """Run an entrypoint's function (``fn(arg, **kwargs)``) with the task calls it makes; the
    calls still running when it ends are waited for (and cancelled if it failed)."""
    interrupted: GraphInterrupt | None = None
    failure: Exception | None = None
    value: Any = None
    thread = threading.get_ident()
    try:
        async with anyio.create_task_group() as group:
            site = CallSite(ctx, group, anyio.lowlevel.current_token(), thread)
            token = _SITE.set(site)
            try:
                value = await _invoke(fn, is_async, (arg,), kwargs)
            except GraphInterrupt as gi:
                interrupted = gi
            except Exception as exc:  # raised once the group is closed: the error, not a group of it
                failure = exc
                group.cancel_scope.cancel()
            except BaseException:
                group.cancel_scope.cancel()
                raise
            finally:
                _SITE.reset(token)
    except BaseExceptionGroup as group_error:
        raise _sole_error(group_error) from None
    if failure is not None:
        raise failure
    if interrupted is not None:
        interrupted.__traceback__ = None
        raise GraphInterrupt(site.interrupts(interrupted))
    return value


def _sole_error(group: BaseExceptionGroup) -> BaseException:
    """The error a task group raised: its only one (as LangGraph raises a node's error), else
    the group itself (the calls' runner settles its errors in the futures, so it has one)."""
    errors = group.exceptions
    while len(errors) == 1 and isinstance(errors[0], BaseExceptionGroup):
        errors = errors[0].exceptions
    return errors[0] if len(errors) == 1 else group


async def _invoke(fn: Callable[..., Any], is_async: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if is_async:
        return await fn(*args, **kwargs)
    return await run_sync_node(functools.partial(fn, *args, **kwargs))


async def _run_call(site: CallSite, call: TaskContext, spec: TaskSpec, args: tuple[Any, ...],
                    kwargs: dict[str, Any], future: TaskFuture[Any]) -> None:
    """Run one call's body (with its retry policy), save its outcome, settle its future."""
    run = call.run
    set_current_task(call)
    _SITE.set(CallSite(call, site.group, site.token, site.loop_thread))  # calls the body makes
    tap = run.messages  # None unless the run streams ``messages``
    lc_token = tap.start_task(call, None) if tap is not None else None  # its models stream as the call
    attempt = 0
    try:
        while True:
            attempt += 1
            call.counter = 0
            try:
                value = await _timed(spec, _invoke(spec.fn, spec.is_async, args, kwargs))
            except GraphInterrupt as gi:
                gi.__traceback__ = None
                answers = [[k, call.answers[k]] for k in sorted(call.answers)]
                await _save(run, call.task_id, ["interrupt", list(gi.interrupts), answers])
                future._finish(interrupts=tuple(gi.interrupts))
                return
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                wait = next_wait(spec.retry, exc, attempt)
                if wait is not None:
                    await anyio.sleep(wait)
                    continue
                _emit_result(run, call, error=exc)
                future._finish(error=exc)
                return
            if tap is not None:
                tap.node_returned(call, value, plain_messages=False)
            try:
                await _save(run, call.task_id, ["done", value])
            except Exception as exc:  # e.g. a value the checkpointer cannot store
                future._finish(error=exc)
                return
            if run.wants("updates"):
                run.emit(run.ns_tuple, "updates", {spec.name: value})
            _emit_result(run, call, value=value)
            future._finish(value)
            return
    finally:
        if lc_token is not None:
            tap.end_task(lc_token)
        if not future.done():
            future._finish(error=CallCancelledError(f"Task {spec.name!r} was cancelled before it finished."))


async def _timed(spec: TaskSpec, call: Awaitable[Any]) -> Any:
    if spec.timeout is None:
        return await call
    try:
        with anyio.fail_after(spec.timeout):
            return await call
    except TimeoutError as exc:
        raise NodeTimeoutError(f"Task {spec.name!r} ran longer than its timeout of {spec.timeout} s.") from exc


async def _save(run: RunScope, call_id: str, record: list[Any]) -> None:
    run.calls[call_id] = record  # a retry of the entrypoint in this run gets it back, not a second run
    if run.writer is not None and run.saver is not None:
        with anyio.CancelScope(shield=True):  # a finished call stays finished
            await run.writer.put_writes(run.address(run.checkpoint_id), [(CALL, record)], call_id)


def _emit_result(run: RunScope, call: TaskContext, *, value: Any = None, error: BaseException | None = None) -> None:
    payload: dict[str, Any] = {
        "id": call.task_id,
        "name": call.node,
        "error": error,  # the exception itself, as LangGraph's (the server sends its repr)
        "result": {"__return__": value} if error is None else {},
        "interrupts": [],
    }
    _emit_task(run, call, "task_result", payload)


def _emit_task(run: RunScope, call: TaskContext, debug_type: str, payload: dict[str, Any]) -> None:
    """A ``tasks`` part (and its ``debug`` form), as the loop emits them for nodes."""
    if run.wants("tasks"):
        run.emit(run.ns_tuple, "tasks", payload)
    if run.wants("debug"):
        run.emit(run.ns_tuple, "debug", {"step": call.step, "timestamp": now_iso(), "type": debug_type, "payload": payload})


def _call_in_node(ctx: TaskContext, spec: TaskSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TaskFuture[Any]:
    """A task called from a StateGraph node: run in place (a sync body at once; an async body when
    awaited), with its retry policy; nothing is saved, as the node itself re-runs as a whole."""
    future: TaskFuture[Any] = TaskFuture(spec.name)
    if not spec.is_async:
        attempt = 0
        while True:
            attempt += 1
            try:
                value = spec.fn(*args, **kwargs)
            except Exception as exc:
                wait = next_wait(spec.retry, exc, attempt)
                if wait is not None:
                    time.sleep(wait)  # a sync node's own thread (or the sync API's private loop)
                    continue
                future._finish(error=exc)
                return future
            if ctx.run.wants("updates"):
                ctx.run.emit(ctx.run.ns_tuple, "updates", {spec.name: value})
            future._finish(value)
            return future
    return _AwaitedCall(ctx, spec, args, kwargs)


class _AwaitedCall(TaskFuture[Any]):
    """An async task called from an async StateGraph node: runs when awaited."""

    def __init__(self, ctx: TaskContext, spec: TaskSpec, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        super().__init__(spec.name)
        self._call = (ctx, spec, tuple(args), kwargs)

    async def _wait(self) -> Any:
        if not self._ready.is_set():
            ctx, spec, args, kwargs = self._call
            attempt = 0
            while True:
                attempt += 1
                try:
                    value = await _timed(spec, spec.fn(*args, **kwargs))
                except Exception as exc:
                    wait = next_wait(spec.retry, exc, attempt)
                    if wait is not None:
                        await anyio.sleep(wait)
                        continue
                    self._finish(error=exc)
                    break
                if ctx.run.wants("updates"):
                    ctx.run.emit(ctx.run.ns_tuple, "updates", {spec.name: value})
                self._finish(value)
                break
        return self._outcome()
