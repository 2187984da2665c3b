"""Planning on its own (executor/plan.py): a checkpoint's task specs into the tasks of its step,
and a step's finished tasks and their routes into the next step's specs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamhil.constants import END, START
from streamhil.executor.plan import Task, path_sort_key, pin, pinned, plan_next, prepare_tasks, start_spec, unpin
from streamhil.types import Send

ORDER = {"a": 0, "b": 1, "c": 2, "d": 3}


def pull(name: str, *triggers: str) -> list[object]:
    return ["pull", name, list(triggers or (f"branch:to:{name}",))]


def done(name: str, kind: str = "pull", index: int = 0) -> Task:
    return Task(f"id-{name}-{index}", name, kind, (), None, index, name)


# -- prepare_tasks ---------------------------------------------------------------------------


def test_sends_come_first_in_order_then_pulls() -> None:
    tasks = prepare_tasks([pull("b"), ["push", "c", 1], pull("a"), ["push", "c", 2]], "cp1", "", 3)
    assert [(t.kind, t.name, t.arg, t.index) for t in tasks] == [
        ("push", "c", 1, 0), ("push", "c", 2, 1), ("pull", "b", None, 0), ("pull", "a", None, 0),
    ]
    assert tasks[0].path == ("__pregel_push", 0, False) and tasks[2].path == ("__pregel_pull", "b")


def test_task_ids_depend_on_where_the_task_was_planned() -> None:
    specs = [pull("a"), ["push", "b", {"x": 1}]]
    first = [t.id for t in prepare_tasks(specs, "cp1", "", 1)]
    assert first == [t.id for t in prepare_tasks(specs, "cp1", "", 1)]  # stable across re-runs
    for other in (prepare_tasks(specs, "cp2", "", 1), prepare_tasks(specs, "cp1", "sub:x", 1), prepare_tasks(specs, "cp1", "", 2)):
        assert set(first).isdisjoint(t.id for t in other)
    assert len(set(first)) == 2


def test_a_node_pulled_twice_runs_once_with_its_first_triggers() -> None:
    tasks = prepare_tasks([pull("a", "x"), pull("a", "y")], "cp", "", 0)
    assert [(t.name, t.triggers) for t in tasks] == [("a", ("x",))]


def test_namespaces_nest_under_the_checkpoint_namespace() -> None:
    root, nested = prepare_tasks([pull("a")], "cp", "", 0)[0], prepare_tasks([pull("a")], "cp", "outer:t1", 0)[0]
    assert root.ns == f"a:{root.id}"
    assert nested.ns == f"outer:t1|a:{nested.id}"


def test_command_gotos_add_tasks_without_duplicating_pulls() -> None:
    tasks = prepare_tasks([pull("a"), ["push", "b", 0]], "cp", "", 0, extra=["a", "c", END, Send("b", 9)])
    assert [(t.kind, t.name, t.arg, t.index) for t in tasks] == [
        ("push", "b", 0, 0), ("push", "b", 9, 1), ("pull", "a", None, 0), ("pull", "c", None, 0),
    ]
    assert tasks[-1].triggers == ("branch:to:c",)


def test_a_pinned_spec_keeps_its_task_id_and_unpin_drops_it() -> None:
    spec = pin(pull("a"), "kept-id")
    assert pinned(spec) == "kept-id" and pinned(pull("a")) is None
    assert prepare_tasks([spec], "any-checkpoint", "", 5)[0].id == "kept-id"
    assert unpin(spec) == pull("a")
    assert prepare_tasks([unpin(spec)], "cp", "", 5)[0].id != "kept-id"


def test_writes_apply_in_path_order() -> None:
    tasks = [done("b"), done("x", "push", 1), done("a"), done("x", "push", 0)]
    assert [(t.name, t.index) for t in sorted(tasks, key=path_sort_key)] == [("a", 0), ("b", 0), ("x", 0), ("x", 1)]


def test_the_start_spec_is_a_pull_of_start() -> None:
    assert prepare_tasks([start_spec()], "cp", "", -1)[0].name == START


# -- plan_next -------------------------------------------------------------------------------


def test_routes_become_pulls_in_node_order_and_sends_come_first() -> None:
    specs, joins = plan_next(
        [(done("a"), ["c", Send("d", 1), "b"]), (done("b"), [END, "c", Send("d", 2)])], (), {}, ORDER
    )
    assert specs == [["push", "d", 1], ["push", "d", 2], pull("b"), pull("c")]
    assert joins == {}


def test_nothing_routed_plans_nothing() -> None:
    assert plan_next([(done("a"), [END])], (), {}, ORDER) == ([], {})


def test_a_join_waits_for_every_source_across_steps() -> None:
    joins = [(("a", "b"), "c")]
    key = "join:a+b:c"
    specs, state = plan_next([(done("a"), [])], joins, {}, ORDER)
    assert specs == [] and state == {key: ["a"]}
    before = {key: ["a"]}
    specs, state = plan_next([(done("b"), [])], joins, before, ORDER)
    assert specs == [["pull", "c", [key]]] and state == {}
    assert before == {key: ["a"]}  # the caller's join state is not changed


def test_a_join_whose_sources_finish_together_fires_at_once() -> None:
    specs, state = plan_next([(done("a"), []), (done("b"), ["d"])], [(("a", "b"), "c")], {}, ORDER)
    assert specs == [["pull", "c", ["join:a+b:c"]], pull("d")]
    assert state == {}


def test_a_join_into_end_schedules_nothing() -> None:
    assert plan_next([(done("a"), []), (done("b"), [])], [(("a", "b"), END)], {}, ORDER) == ([], {})


def test_unknown_nodes_sort_after_known_ones() -> None:
    specs, _ = plan_next([(done("a"), ["zz", "b"])], (), {}, ORDER)
    assert [s[1] for s in specs] == ["b", "zz"]


@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", END]), max_size=4), min_size=1, max_size=4))
def test_each_routed_node_is_planned_once_in_node_order(routes: list[list[str]]) -> None:
    finished = [(done(f"n{i}"), list(r)) for i, r in enumerate(routes)]
    specs, _ = plan_next(finished, (), {}, ORDER)
    names = [s[1] for s in specs]
    assert names == sorted({n for r in routes for n in r if n != END}, key=ORDER.__getitem__)
