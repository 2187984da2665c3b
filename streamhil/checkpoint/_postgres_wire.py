"""One statement on a psycopg connection's libpq handle, waited for with anyio (asyncio or trio).

psycopg's ``execute`` makes a cursor, rewrites the query, looks its prepared name up, and waits
through asyncio (async connections) or a blocking call (sync ones, so a worker thread under
trio). For the saver's few statements, all prepared and read back in binary, that machinery was
about a third of a call's client CPU, and under trio the worker-thread hop cost more than the
statement. :func:`execute` does the same work directly: the query's ``$n`` form is worked out
once per statement text, parameters are dumped by psycopg's own adapters (the connection's
context, so the saver's array codecs apply), the statement is prepared once per connection under
a name of ours, and the libpq calls are psycopg's non-blocking generators, driven here with
:func:`anyio.wait_readable` / :func:`anyio.wait_writable`. It works on a sync or an async
psycopg connection alike (both are non-blocking underneath), on whichever loop runs it.

The caller must own the connection for the call (no other statement in flight on it) and keep
it out of pipeline mode; errors are psycopg's own exceptions, as ``execute`` raises them.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import weakref
from collections.abc import Generator, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import anyio

from ._postgres_sql import Sql

try:
    import psycopg
    from psycopg import generators, pq
    from psycopg.abc import Transformer as Transformer_
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.waiting import Ready, Wait
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("PostgresSaver needs psycopg 3: pip install 'streamhil[postgres]'") from exc

__all__ = ["execute", "execute_batch", "Shape", "shape_of"]

T = TypeVar("T")
_PLACEHOLDER = re.compile(r"%\((\w+)\)([sb])|%([sb])|%%")
_FORMATS = {"s": PyFormat.AUTO, "b": PyFormat.BINARY}
_BINARY = pq.Format.BINARY
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
_PIPELINE_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_UNKNOWN_STATEMENT = "26000"  # invalid_sql_statement_name: our prepared statement is gone


class Shape(NamedTuple):
    """A statement's text in libpq's form, and where its parameters come from."""

    query: bytes
    keys: tuple[str | int, ...]
    """For each ``$n``: the mapping key (``%(name)s``) or the sequence position (``%s``)."""
    formats: tuple[PyFormat, ...]


@functools.lru_cache(maxsize=512)
def shape_of(text: str) -> Shape:
    """``text`` with ``%(name)s`` / ``%(name)b`` / ``%s`` / ``%b`` placeholders as ``$n`` (a name
    used twice is one parameter), as psycopg would send it."""
    keys: list[str | int] = []
    formats: list[PyFormat] = []
    positional = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal positional
        if match.group(0) == "%%":
            return "%"
        if match.group(1) is not None:
            key: str | int = match.group(1)
            fmt = match.group(2)
            if key in keys:
                index = keys.index(key)
                if formats[index] is not _FORMATS[fmt]:
                    raise ValueError(f"placeholder {key!r} is used with two formats in {text!r}")
                return f"${index + 1}"
        else:
            key, fmt = positional, match.group(3)
            positional += 1
        keys.append(key)
        formats.append(_FORMATS[fmt])
        return f"${len(keys)}"

    query = _PLACEHOLDER.sub(replace, text)
    if positional and positional != len(keys):
        raise ValueError(f"{text!r} mixes named and positional placeholders")
    return Shape(query.encode(), tuple(keys), tuple(formats))


class _Session:
    """What this module keeps per connection."""

    __slots__ = ("names", "transformers")

    def __init__(self) -> None:
        self.names: dict[tuple[str, tuple[int, ...]], bytes] = {}
        """Our prepared statements on the connection, by (text, parameter types)."""
        self.transformers: dict[str, Transformer_] = {}
        """One psycopg Transformer per statement text, reused as a cursor reuses its own: it
        keeps the dumpers and loaders it found, instead of looking them up on every call."""


_sessions: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()
_serial = itertools.count()
"""Names are never reused (in this process), so one prepared again cannot clash with a survivor."""


def _session(conn: Any) -> _Session:
    session = _sessions.get(conn)
    if session is None:
        session = _sessions[conn] = _Session()
    return session


Connection = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]


class _Bound(NamedTuple):
    """A statement with its parameters dumped, ready to send."""

    statement: Sql
    shape: Shape
    transformer: Transformer_
    values: Sequence[Any]
    types: Sequence[int]
    formats: Sequence[pq.Format]
    key: tuple[str, tuple[int, ...]]


def _bind(conn: Connection, statement: Sql) -> _Bound:
    transformers = _session(conn).transformers
    transformer = transformers.get(statement.sql)
    if transformer is None:
        transformer = transformers[statement.sql] = Transformer(conn)
    if not statement.params:  # sent as it is, as psycopg does (no placeholders, no prepare)
        return _Bound(statement, Shape(statement.sql.encode(), (), ()), transformer, [], (), (), (statement.sql, ()))
    shape = shape_of(statement.sql)
    params = statement.params
    if isinstance(params, Mapping):
        values = [params[key] for key in shape.keys]  # type: ignore[index]  # str keys here
    else:
        values = list(params)
    dumped = transformer.dump_sequence(values, shape.formats)
    types = tuple(transformer.types or ())  # copies: the next statement dumped here replaces them
    formats = tuple(transformer.formats or ())
    return _Bound(statement, shape, transformer, dumped, types, formats, (statement.sql, types))


async def _prepared_name(conn: Connection, bound: _Bound) -> bytes:
    """Our name for ``bound``'s statement on ``conn``, preparing it there first if new."""
    names = _session(conn).names
    name = names.get(bound.key)
    if name is None:
        name = f"streamhil_{next(_serial)}".encode()
        conn.pgconn.send_prepare(name, bound.shape.query, param_types=bound.types)
        _check(conn, await _results(conn))
        names[bound.key] = name
    return name


def _send(conn: Connection, bound: _Bound, name: bytes | None) -> None:
    if name is None:
        conn.pgconn.send_query_params(
            bound.shape.query, bound.values, param_types=bound.types, param_formats=bound.formats, result_format=_BINARY
        )
    else:
        conn.pgconn.send_query_prepared(name, bound.values, param_formats=bound.formats, result_format=_BINARY)


def _lost_statement(results: Sequence[pq.abc.PGresult]) -> bool:
    """Whether the session lost our prepared statements (``DISCARD ALL``): prepare again."""
    return any(_sqlstate(r) == _UNKNOWN_STATEMENT for r in results)


async def execute(conn: Connection, statement: Sql, prepare: bool) -> list[tuple[Any, ...]]:
    """Run ``statement`` on ``conn`` and return its rows (``[]`` for a statement without).
    Without parameters it goes as a simple query (several statements allowed), as psycopg does."""
    if not statement.params:
        conn.pgconn.send_query(statement.sql.encode())
        return _rows(conn, Transformer(conn), await _results(conn))
    bound = _bind(conn, statement)
    for attempt in (1, 2):
        _send(conn, bound, await _prepared_name(conn, bound) if prepare else None)
        results = await _results(conn)
        if attempt == 1 and prepare and _lost_statement(results):
            _session(conn).names.clear()
            continue
        return _rows(conn, bound.transformer, results)
    raise AssertionError("unreachable")  # pragma: no cover


async def execute_batch(conn: Connection, statements: Sequence[Sql], prepare: bool) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in one round trip: libpq's pipeline mode with one Sync at the end, so
    they run in one implicit transaction, all or nothing. Returns each one's rows; raises the
    first error (nothing of the batch is then kept). A statement without parameters goes
    unprepared and must be a single statement."""
    bound = [_bind(conn, statement) for statement in statements]
    pgconn = conn.pgconn
    for attempt in (1, 2):
        names = [await _prepared_name(conn, b) if prepare and b.statement.params else None for b in bound]
        pgconn.enter_pipeline_mode()
        try:
            for one, name in zip(bound, names):
                _send(conn, one, name)
            pgconn.pipeline_sync()
            await _drive(conn, generators.send(pgconn))
            results = [await _drive(conn, generators.fetch_many(pgconn)) for _ in bound]
            await _drive(conn, generators.fetch_many(pgconn))  # the Sync's own result
        except BaseException:
            conn.pgconn.finish()  # mid-pipeline, the session's state is unknown: drop it
            raise
        pgconn.exit_pipeline_mode()
        if attempt == 1 and prepare and any(_lost_statement(r) for r in results):
            _session(conn).names.clear()
            continue
        for one_results in results:
            _check(conn, one_results)  # the first error (later ones only say "aborted")
        return [_rows(conn, one.transformer, one_results) for one, one_results in zip(bound, results)]
    raise AssertionError("unreachable")  # pragma: no cover


def _sqlstate(result: pq.abc.PGresult) -> str | None:
    if result.status != _FATAL_ERROR:
        return None
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    return state.decode() if state else None


def _check(conn: Any, results: Sequence[pq.abc.PGresult]) -> pq.abc.PGresult:
    for result in results:
        if result.status == _FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
        if result.status == _PIPELINE_ABORTED:
            raise psycopg.errors.PipelineAborted("pipeline aborted")
    if not results:
        raise psycopg.OperationalError("the server sent no result")
    return results[-1]


def _rows(conn: Any, transformer: Transformer_, results: Sequence[pq.abc.PGresult]) -> list[tuple[Any, ...]]:
    result = _check(conn, results)
    if result.status != _TUPLES_OK:
        return []
    transformer.set_pgresult(result)
    return transformer.load_rows(0, result.ntuples, tuple)


async def _results(conn: Connection) -> list[pq.abc.PGresult]:
    """Flush what was sent and collect every result."""
    return await _drive(conn, generators.execute(conn.pgconn))


async def _drive(conn: Connection, gen: Generator[Wait, Ready | int, T]) -> T:
    """Run one of psycopg's non-blocking libpq generators to the end, waiting on the socket:
    with asyncio's own reader/writer callbacks for an async connection (always on asyncio), with
    :func:`anyio.wait_readable` / :func:`anyio.wait_writable` otherwise."""
    try:
        wait = next(gen)
        fileno = conn.pgconn.socket
        loop = _asyncio_loop() if isinstance(conn, psycopg.AsyncConnection) else None
        while True:
            if wait == Wait.R:
                await (_on_asyncio(loop, fileno, False) if loop is not None else anyio.wait_readable(fileno))
                wait = gen.send(Ready.R)
            else:
                # Sending (Wait.W, or Wait.RW while libpq's buffer is full): wait until it can
                # write, and let it read too (a non-blocking read of whatever has arrived).
                await (_on_asyncio(loop, fileno, True) if loop is not None else anyio.wait_writable(fileno))
                wait = gen.send(Ready.RW)
    except StopIteration as done:
        return done.value


def _asyncio_loop() -> Any:
    # Not ``import asyncio``: the core imports no event loop (tests/test_layering.py); an async
    # psycopg connection only runs on asyncio, which is then loaded.
    return sys.modules["asyncio"].get_running_loop()


async def _on_asyncio(loop: Any, fileno: int, write: bool) -> None:
    """Wait for ``fileno`` to be readable (writable) on the asyncio ``loop``: anyio's
    ``wait_readable`` does the same with a per-loop table on top, a third of the wait's cost."""
    future = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)

    def ready() -> None:
        remove(fileno)
        if not future.done():
            future.set_result(None)

    add(fileno, ready)
    try:
        await future
    finally:
        if not future.done():
            remove(fileno)
