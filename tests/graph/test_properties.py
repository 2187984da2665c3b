"""Property tests: any mix of dynamic interrupts and static breakpoints along a chain, driven to
the end by answering or continuing, gives the same final state, runs each node the expected
number of times and leaves one checkpoint per step."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streamhil import Command

from .helpers import Calls, chain, thread


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(min_value=1, max_value=5))
    names = [f"n{i}" for i in range(n)]
    subset = st.sets(st.sampled_from(names))
    return {
        "names": names,
        "ask": draw(subset),
        "before": draw(subset),
        "after": draw(subset),
        "durability": draw(st.sampled_from(["sync", "async"])),
    }


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_any_mix_of_pauses_reaches_the_same_end(scenario: dict[str, Any]) -> None:
    names, ask = scenario["names"], scenario["ask"]
    calls = Calls()
    graph = chain(
        names,
        calls,
        ask=ask,
        interrupt_before=sorted(scenario["before"]),
        interrupt_after=sorted(scenario["after"]),
    )
    config = thread()
    durability = scenario["durability"]
    result = graph.invoke({"log": []}, config, durability=durability)
    stops = 0
    while True:
        snap = graph.get_state(config)
        if "__interrupt__" in result:
            [intr] = result["__interrupt__"]
            assert snap.interrupts == (intr,) and snap.next == (intr.node,)
            result = graph.invoke(Command(resume=intr.node.upper()), config, durability=durability)
        elif snap.next:
            result = graph.invoke(None, config, durability=durability)
        else:
            break
        stops += 1
        assert stops <= 3 * len(names) + 1, "the chain never finished"
    assert result == {"log": [f"{n}:{n.upper()}" if n in ask else n for n in names]}
    assert calls == {n: 2 if n in ask else 1 for n in names}
    steps = [s.metadata["step"] for s in graph.get_state_history(config)]
    assert steps == list(range(len(names), -2, -1))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=5), st.data())
def test_replay_from_any_checkpoint_reruns_only_what_follows(n: int, data: st.DataObject) -> None:
    names = [f"n{i}" for i in range(n)]
    calls = Calls()
    graph = chain(names, calls)
    config = thread()
    final = graph.invoke({"log": []}, config)
    history = list(graph.get_state_history(config))
    point = data.draw(st.sampled_from(history[1:]), label="checkpoint")  # not the finished head
    calls.clear()
    assert graph.invoke(None, point.config) == final
    done = len(point.values["log"])
    assert calls == {name: 1 for name in names[done:]}
    # One fork checkpoint, then one loop checkpoint per step from the replayed one to the end.
    assert len(list(graph.get_state_history(config))) == len(history) + 1 + n - point.metadata["step"]
