"""``streamhil-server --workers N``: N server processes accepting on one listening socket.

Each worker is a whole ``streamhil-server`` process (its own event loop, database connections,
lease owner and listener), started with the listening socket's descriptor; the kernel spreads the
connections over them. They share threads the way separate processes on one PostgreSQL database
do (docs/deploy.md, "Several processes"), so workers need a PostgreSQL ``--db``: a SQLite file
has one writer, and a server without ``--db`` keeps its state in its own memory.

The supervisor (this module, in the first process) restarts a worker that dies, and stops them
all (SIGTERM: each drains its connections as a single server does) when it gets SIGTERM or
SIGINT. A worker that dies before it was ready to serve (it says so through a pipe) stops them
all: it would only die again (a graph that does not load, a database that refuses the login).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

__all__ = ["check_workers", "supervise", "tell_ready"]

_STOP_WAIT = 15.0
"""Seconds the workers get to drain once told to stop, before they are killed."""


def check_workers(workers: int, db: str | None) -> None:
    """Refuse ``--workers`` values that cannot work (SystemExit with the reason)."""
    if workers < 1:
        raise SystemExit(f"streamhil-server: --workers must be at least 1, got {workers}")
    if workers == 1 or (db is not None and db.startswith(("postgresql://", "postgres://"))):
        return
    where = "in memory (no --db)" if db is None else f"in the SQLite file {db}"
    raise SystemExit(
        f"streamhil-server: --workers {workers} needs a PostgreSQL --db: this server keeps its state {where}, which "
        "one process owns (a SQLite file has a single writer; memory is per process). Run one process, or use "
        "--db postgresql://... (docs/deploy.md, 'Several processes, PostgreSQL')"
    )


def _stop_with_parent() -> None:
    """In the worker, before it runs (Linux): SIGTERM when the supervisor dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Supervisor:
    def __init__(self, argv: Sequence[str], sock: socket.socket, workers: int) -> None:
        self.argv = list(argv)
        self.sock = sock
        self.workers = workers
        self.running: dict[int, tuple[subprocess.Popen[bytes], int, int]] = {}  # pid → (process, ready pipe, slot)
        self.stopping = False
        self.failed = False

    def start(self, slot: int) -> None:
        fd = self.sock.fileno()
        ready, told = os.pipe()
        command = [
            sys.executable, "-m", "streamhil_server", *self.argv,
            "--worker-fd", str(fd), "--worker-name", f"{slot + 1}/{self.workers}", "--worker-slot", str(slot),
            "--worker-ready-fd", str(told),
        ]
        try:
            # A process group of its own: a Ctrl-C in the terminal reaches the supervisor only,
            # which passes one SIGTERM on (two signals would make uvicorn skip the drain).
            process = subprocess.Popen(command, pass_fds=[fd, told], process_group=0, preexec_fn=_stop_with_parent)
        finally:
            os.close(told)
        os.set_blocking(ready, False)
        self.running[process.pid] = (process, ready, slot)

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        """Tell every worker to stop (a signal handler, and on a failed start)."""
        self.stopping = True
        for process, _, _ in list(self.running.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        for slot in range(self.workers):
            self.start(slot)
        deadline: float | None = None
        while self.running:
            if self.stopping and deadline is None:
                deadline = time.monotonic() + _STOP_WAIT
            try:
                pid, status = os.waitpid(-1, os.WNOHANG if deadline is not None else 0)
            except ChildProcessError:
                break
            if pid == 0:  # stopping: none ended yet
                if deadline is not None and time.monotonic() > deadline:
                    for process, _, _ in self.running.values():
                        process.kill()
                    deadline = float("inf")
                time.sleep(0.05)
                continue
            entry = self.running.pop(pid, None)
            if entry is None:
                continue
            process, ready, slot = entry
            process.returncode = os.waitstatus_to_exitcode(status)
            was_ready = _was_ready(ready)
            if self.stopping:
                continue
            if not was_ready:
                print(f"streamhil-server: worker {slot + 1}/{self.workers} exited at startup "
                      f"(code {process.returncode}); stopping the others", file=sys.stderr, flush=True)
                self.failed = True
                self.stop()
                continue
            print(f"streamhil-server: worker {slot + 1}/{self.workers} (pid {pid}) died "
                  f"(code {process.returncode}); starting another", file=sys.stderr, flush=True)
            self.start(slot)
        return 1 if self.failed else 0


def _was_ready(ready: int) -> bool:
    """Whether the worker wrote to its pipe (it died: the pipe is at its end or holds the byte)."""
    try:
        return os.read(ready, 1) == b"1"
    except BlockingIOError:  # pragma: no cover - a worker's child kept the pipe open
        return False
    finally:
        os.close(ready)


def tell_ready(fd: int) -> None:
    """In a worker, once it serves: tell the supervisor (see :class:`_Supervisor`)."""
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)


def supervise(argv: Sequence[str], sock: socket.socket, workers: int) -> int:
    """Run ``workers`` worker processes of ``streamhil-server argv`` on ``sock`` until SIGTERM or
    SIGINT; returns the exit code (1 if a worker failed to start)."""
    supervisor = _Supervisor(argv, sock, workers)
    previous = {s: signal.signal(s, supervisor.stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return supervisor.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
