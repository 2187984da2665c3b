from __future__ import annotations

import itertools

import pytest

from streamhil_client import backoff_delays


def test_exponential_up_to_the_maximum_without_jitter() -> None:
    delays = list(itertools.islice(backoff_delays(initial=0.5, factor=2, maximum=3, jitter=0), 6))
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_stays_within_the_base() -> None:
    draws = iter([0.0, 1.0, 0.5])
    delays = list(itertools.islice(backoff_delays(initial=1, factor=2, maximum=8, rand=lambda: next(draws)), 3))
    assert delays == [1.0, 0.0, 2.0]


def test_max_attempts_ends_the_series() -> None:
    assert len(list(backoff_delays(max_attempts=4))) == 4
    assert list(backoff_delays(max_attempts=0)) == []


def test_a_new_generator_starts_over() -> None:
    first = backoff_delays(initial=1, jitter=0)
    next(first), next(first)
    assert next(backoff_delays(initial=1, jitter=0)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0}, {"factor": 0.5}, {"initial": 5, "maximum": 1}, {"jitter": 2}, {"max_attempts": -1}],
)
def test_bad_parameters_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        next(backoff_delays(**kwargs))  # type: ignore[arg-type]
