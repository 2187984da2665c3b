"""One process at a time on a SQLite file: ``SqliteStorage`` locks ``<file>.lock`` while open.

A second server on the file used to start, take the first one's live run for one a crash had cut
short, run its node a second time, and make the first server die on its own event log (found by
a tester). Now the second one is refused: ``StorageLockedError`` from the library, one line and
exit status 2 from ``streamhil-server``; and a killed holder never keeps its restart out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest
from streamhil_server.storage import SqliteStorage, StorageLockedError
from streamhil_server.storage.file_lock import LOCKING, FileLock

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(not LOCKING, reason="no fcntl: no lock (Windows)")]

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "server"), os.environ.get("PYTHONPATH", "")])}

_HOLDER = textwrap.dedent(
    """
    import sys, anyio
    from streamhil_server.storage import SqliteStorage

    async def main():
        async with SqliteStorage(sys.argv[1]):
            print("open", flush=True)
            await anyio.sleep_forever()

    anyio.run(main)
    """
)


def hold_in_another_process(db: Path) -> subprocess.Popen[str]:
    """A process that opens a ``SqliteStorage`` on ``db`` and keeps it open until killed."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    return holder


async def test_a_second_storage_on_the_file_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    async with SqliteStorage(db) as first:
        with pytest.raises(StorageLockedError, match="in use by another server process") as refused:
            await SqliteStorage(db).open()
        assert refused.value.path == str(db) and refused.value.lock_path == f"{os.path.realpath(db)}.lock"
        assert await first.count_threads() is not None  # the first one is untouched
    async with SqliteStorage(db):  # closed: the file is free again
        pass
    assert (tmp_path / "s.sqlite.lock").exists()  # left in place: removing it would race


async def test_the_file_is_locked_under_any_of_its_names(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    (tmp_path / "alias").symlink_to(tmp_path)
    async with SqliteStorage(db):
        with pytest.raises(StorageLockedError):
            await SqliteStorage(tmp_path / "alias" / "s.sqlite").open()


async def test_another_process_holding_the_file_is_refused_and_its_kill_frees_it(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    holder = hold_in_another_process(db)
    try:
        with pytest.raises(StorageLockedError):
            await SqliteStorage(db).open()
    finally:
        holder.send_signal(signal.SIGKILL)  # no clean-up of its own: the kernel lets the lock go
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    async with SqliteStorage(db) as storage:  # a crashed server's restart is never refused
        assert storage.epoch


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path) -> None:
    """A node that forks (``multiprocessing``'s fork) leaves a child that outlives nothing: once
    the parent lets the file go, it is free even while the child still runs."""
    lock = FileLock(str(tmp_path / "s.sqlite"))
    lock.acquire()
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # (fork in a process with threads)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(ready_w, b"x")
        os.read(go_r, 1)
        os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"x"
        lock.release()
        again = FileLock(str(tmp_path / "s.sqlite"))
        again.acquire()  # the child, still running, does not hold it
        again.release()
    finally:
        os.write(go_w, b"x")
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w, go_r, go_w):
            os.close(fd)


def test_a_second_server_on_the_file_exits_with_one_line_and_status_2(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    holder = hold_in_another_process(db)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "streamhil_server", "--demo", "--port", "0", "--db", str(db)],
            capture_output=True, text=True, env=ENV, timeout=60,
        )
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert second.returncode == 2, second
    assert second.stderr.count("\n") == 1 and second.stderr.startswith("streamhil-server: the SQLite file")
    assert "in use by another server process" in second.stderr and "Traceback" not in second.stderr
    assert "listening" not in second.stdout


def test_a_server_that_loses_the_race_for_the_file_also_exits_with_status_2(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """The file was free when the command line was checked and taken before the storage opened
    (two servers started at once): the same line and status, from the failed start."""
    import streamhil_server.__main__ as cli

    monkeypatch.setattr(cli, "check_db", lambda db: None)  # as if the other took it just after
    monkeypatch.setattr(cli, "tune_garbage_collector", lambda threshold: None)
    db = tmp_path / "s.sqlite"
    other = FileLock(str(db))
    other.acquire()
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main(["--demo", "--port", "0", "--db", str(db), "--log-level", "critical"])
    finally:
        other.release()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("streamhil-server: the SQLite file") and err.count("\n") == 1, err


async def test_a_storage_that_fails_to_open_lets_the_file_go(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-database.sqlite"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(Exception, match="not a database"):
        await SqliteStorage(bad).open()
    lock = FileLock(str(bad))
    lock.acquire()  # free
    lock.release()
    await anyio.lowlevel.checkpoint()
