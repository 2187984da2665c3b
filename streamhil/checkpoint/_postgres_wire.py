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
import weakref
from collections.abc import Generator, Mapping, Sequence
from typing import Any, NamedTuple

import anyio

from ._postgres_sql import Sql

try:
    import psycopg
    from psycopg import generators, pq
    from psycopg.adapt import PyFormat, Transformer
    from psycopg.waiting import Ready, Wait
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("PostgresSaver needs psycopg 3: pip install 'streamhil[postgres]'") from exc

__all__ = ["execute", "execute_batch", "Shape", "shape_of"]

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


_names: weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[int, ...]], bytes]] = weakref.WeakKeyDictionary()
"""Per connection: our prepared statements there, by (text, parameter types)."""
_serial = itertools.count()
"""Names are never reused (in this process), so one prepared again cannot clash with a survivor."""

Connection = psycopg.Connection[Any] | psycopg.AsyncConnection[Any]


class _Bound(NamedTuple):
    """A statement with its parameters dumped, ready to send."""

    statement: Sql
    shape: Shape
    transformer: Transformer
    values: list[Any]
    types: Sequence[int]
    formats: Sequence[pq.Format]
    key: tuple[str, tuple[int, ...]]


def _bind(conn: Connection, statement: Sql) -> _Bound:
    if not statement.params:  # sent as it is, as psycopg does (no placeholders, no prepare)
        transformer = Transformer(conn)
        return _Bound(statement, Shape(statement.sql.encode(), (), ()), transformer, [], [], [], (statement.sql, ()))
    shape = shape_of(statement.sql)
    params = statement.params
    if isinstance(params, Mapping):
        values = [params[key] for key in shape.keys]
    else:
        values = list(params)
    transformer = Transformer(conn)
    dumped = transformer.dump_sequence(values, shape.formats)
    types = transformer.types
    return _Bound(statement, shape, transformer, dumped, types, transformer.formats, (statement.sql, tuple(types)))


async def _prepared_name(conn: Connection, bound: _Bound) -> bytes:
    """Our name for ``bound``'s statement on ``conn``, preparing it there first if new."""
    names = _names.get(conn)
    if names is None:
        names = _names[conn] = {}
    name = names.get(bound.key)
    if name is None:
        name = f"streamhil_{next(_serial)}".encode()
        conn.pgconn.send_prepare(name, bound.shape.query, param_types=bound.types)
        _check(conn, await _results(conn.pgconn))
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
        transformer = Transformer(conn)
        conn.pgconn.send_query(statement.sql.encode())
        return _rows(conn, transformer, await _results(conn.pgconn))
    bound = _bind(conn, statement)
    for attempt in (1, 2):
        _send(conn, bound, await _prepared_name(conn, bound) if prepare else None)
        results = await _results(conn.pgconn)
        if attempt == 1 and prepare and _lost_statement(results):
            _names.pop(conn, None)
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
            await _drive(generators.send(pgconn), pgconn.socket)
            results = [await _drive(generators.fetch_many(pgconn), pgconn.socket) for _ in bound]
            await _drive(generators.fetch_many(pgconn), pgconn.socket)  # the Sync's own result
        except BaseException:
            conn.pgconn.finish()  # mid-pipeline, the session's state is unknown: drop it
            raise
        pgconn.exit_pipeline_mode()
        if attempt == 1 and prepare and any(_lost_statement(r) for r in results):
            _names.pop(conn, None)
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


def _rows(conn: Any, transformer: Transformer, results: Sequence[pq.abc.PGresult]) -> list[tuple[Any, ...]]:
    result = _check(conn, results)
    if result.status != _TUPLES_OK:
        return []
    transformer.set_pgresult(result)
    return transformer.load_rows(0, result.ntuples, tuple)


async def _results(pgconn: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    """Flush what was sent and collect every result, waiting on the socket with anyio."""
    return await _drive(generators.execute(pgconn), pgconn.socket)


async def _drive(gen: Generator[Wait, Ready | int, list[pq.abc.PGresult]], fileno: int) -> list[pq.abc.PGresult]:
    try:
        wait = next(gen)
        while True:
            if wait == Wait.R:
                await anyio.wait_readable(fileno)
                wait = gen.send(Ready.R)
            else:
                # Sending (Wait.W, or Wait.RW while libpq's buffer is full): wait until it can
                # write, and let it read too (a non-blocking read of whatever has arrived).
                await anyio.wait_writable(fileno)
                wait = gen.send(Ready.RW)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
