"""The storage backends on their own: CPU per write and per read, SQLite beside PostgreSQL.

Each write is what the server commits per superstep: a checkpoint (child of the previous one,
two channels, one changed), three event rows and a run record. ``sequential`` awaits each write
before the next (one commit each); ``concurrent`` has 50 threads writing at once (group commit).
Reads are ``load_thread`` + ``read_events``, as a subscribe does. CPU is this process's user +
system time (all its threads), and for PostgreSQL also the CPU of the backends serving it.

    python bench/storage_bench.py                                   # sqlite and postgres
    python bench/storage_bench.py --writes 2000 --backend postgres --loop trio

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import anyio
from streamhil.checkpoint._records import Address, encode_changed, encode_metadata
from streamhil.checkpoint.base import Checkpoint, new_checkpoint_id
from streamhil_server.storage import EventRow, RunRecord, SqliteStorage, Storage, ThreadRecord, Write
from streamhil_server.storage.records import CheckpointPut


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Thread:
    """One thread's supersteps, each a Write like the server's."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.parent: str | None = None
        self.seq = 0
        self.step = 0

    def next_write(self) -> Write:
        values = {"messages": ["hello"] * 20, "n": self.step}
        versions = {"messages": 1, "n": self.step + 1}
        checkpoint = Checkpoint(new_checkpoint_id(self.step), "2026-01-01T00:00:00+00:00", values, versions)
        changed = versions if self.parent is None else {"n": self.step + 1}
        put = CheckpointPut(
            Address(self.thread_id, "", self.parent), checkpoint, encode_metadata({"step": self.step}),
            encode_changed(checkpoint, changed), {},
        )
        events = [EventRow(self.thread_id, self.seq + i, "r", f'{{"seq":{self.seq + i},"event":"updates"}}') for i in (1, 2, 3)]
        self.parent, self.seq, self.step = checkpoint.id, self.seq + 3, self.step + 1
        return Write(thread_id=self.thread_id, checkpoint=put, events=events,
                     runs=[RunRecord(f"run-{self.thread_id}", self.thread_id, "start", "running", {})])


async def _pg_pids(url: str, name: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (name,))]


async def _measure(storage: Storage, url: str | None, name: str, n: int, label: str, work) -> tuple[str, float, float, float | None]:
    pids = await _pg_pids(url, name) if url else []
    db_before = {p: _cpu_seconds(p) for p in pids}
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db = sum(_cpu_seconds(p) - v for p, v in db_before.items()) if url else None
    return label, cpu / n * 1e3, n / wall, (db / n * 1e3 if db is not None else None)


async def _bench(backend: str, args: argparse.Namespace) -> list[tuple[str, float, float, float | None]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = None
        name = f"storage_bench_{os.getpid()}"
        if backend == "sqlite":
            storage: Storage = SqliteStorage(Path(tmp) / "s.sqlite")
        else:
            import psycopg
            from psycopg.conninfo import make_conninfo
            from streamhil_server.storage.postgres import PostgresStorage

            url = args.postgres_url
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                conn.execute(f"CREATE SCHEMA {name}")
            storage = PostgresStorage(make_conninfo(url, application_name=name, options=f"-csearch_path={name}"))
        try:
            async with storage:
                one = _Thread("seq")
                await storage.save_thread(ThreadRecord("seq", "g", "bench"))

                async def sequential() -> None:
                    for _ in range(args.writes):
                        await storage.write(one.next_write())

                rows.append(await _measure(storage, url, name, args.writes, "write, sequential", sequential))
                threads = [_Thread(f"t{i}") for i in range(50)]

                async def concurrent() -> None:
                    async def writer(t: _Thread) -> None:
                        for _ in range(args.writes // 50):
                            await storage.write(t.next_write())

                    async with anyio.create_task_group() as tg:
                        for t in threads:
                            tg.start_soon(writer, t)

                rows.append(await _measure(storage, url, name, args.writes // 50 * 50, "write, 50 at once", concurrent))

                async def reads() -> None:
                    for _ in range(args.writes):
                        await storage.load_thread("seq")
                        await storage.read_events("seq", one.seq - 3, one.seq)

                rows.append(await _measure(storage, url, name, args.writes, "read (thread + events)", reads))
        finally:
            if url:
                import psycopg

                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--postgres-url", default=os.environ.get("STREAMHIL_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if "postgres" in args.backend and not args.postgres_url:
        parser.error("postgres needs --postgres-url (or STREAMHIL_TEST_POSTGRES_URL)")
    print(f"{'backend':<10} {'operation':<24} {'client CPU ms/op':>17} {'ops/s':>8} {'PG CPU ms/op':>13}  ({args.loop})")
    for backend in args.backend:
        for label, cpu, rate, db in anyio.run(_bench, backend, args, backend=args.loop):
            shown = f"{db:>13.3f}" if db is not None else f"{'':>13}"
            print(f"{backend:<10} {label:<24} {cpu:>17.3f} {rate:>8.0f} {shown}")
    print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machine: compare CPU, not ops/s)")


if __name__ == "__main__":
    main()
