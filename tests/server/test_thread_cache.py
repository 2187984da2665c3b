"""The cache of live threads (``ThreadCache``): letting idle threads go costs a bounded number
of visits however many held threads cannot go (watched, busy), and threads that could not go
leave once they can."""

from __future__ import annotations

from streamhil_server.storage.records import ThreadRecord
from streamhil_server.threads import ThreadCache, ThreadRuntime


def _thread(thread_id: str) -> ThreadRuntime:
    return ThreadRuntime(ThreadRecord(thread_id=thread_id, graph="g", owner="o"))


class _Hub:
    """Stands for the event hub: a watched thread's log cannot be forgotten."""

    def __init__(self) -> None:
        self.watched: set[str] = set()
        self.released: list[str] = []
        self.asked = 0

    def release(self, thread_id: str) -> bool:
        self.asked += 1
        if thread_id in self.watched:
            return False
        self.released.append(thread_id)
        return True


def test_letting_threads_go_does_not_walk_the_watched_ones_again() -> None:
    hub = _Hub()
    cache = ThreadCache(10, hub.release)
    for i in range(2000):  # a connection watching 2,000 threads (start_run subscribes it)
        hub.watched.add(f"w{i}")
        cache.add(_thread(f"w{i}"))
    before = hub.asked
    for i in range(1000):  # then runs on new threads
        cache.add(_thread(f"n{i}"))
    per_add = (hub.asked - before) / 1000
    assert per_add <= 9  # was about 2,000 per add (every watched thread, every time)
    assert len(cache) <= 2000 + 20
    assert all(f"w{i}" in cache for i in range(2000))  # watched threads stay


def test_threads_that_could_not_go_leave_once_unwatched() -> None:
    hub = _Hub()
    cache = ThreadCache(10, hub.release)
    for i in range(100):
        hub.watched.add(f"w{i}")
        cache.add(_thread(f"w{i}"))
    hub.watched.clear()  # the connection left
    for i in range(200):
        cache.add(_thread(f"n{i}"))
    assert len(cache) <= 20
    assert not any(f"w{i}" in cache for i in range(100))


def test_a_busy_thread_named_again_is_the_most_recently_used() -> None:
    hub = _Hub()
    cache = ThreadCache(2, hub.release)
    busy = cache.add(_thread("busy"))
    busy.worker = True  # running: it cannot go
    cache.add(_thread("a"))
    cache.add(_thread("b"))
    assert "busy" in cache and cache.get("busy") is busy
    busy.worker = False
    cache.add(_thread("c"))  # "a" and "b" are the least recently used now, not "busy"
    assert {t.thread_id for t in cache} == {"busy", "c"}


def test_peek_does_not_count_as_use() -> None:
    """Per-event bookkeeping looks threads up with ``peek``: the least recently used idle thread
    is still the one to go, and a thread set aside stays aside."""
    hub = _Hub()
    cache = ThreadCache(2, hub.release)
    for name in ("a", "b"):
        cache.add(_thread(name))
    assert cache.peek("a") is not None and cache.peek("missing") is None
    cache.add(_thread("c"))  # over the bound: "a", least recently used despite the peek, goes
    assert hub.released == ["a"]
    cache.get("b")
    cache.add(_thread("d"))  # "c" goes now: the get made "b" recent
    assert hub.released == ["a", "c"]
