"""Fair share between installations: the pure order in which the claim tries runnable jobs."""

from __future__ import annotations

from app.queue.fair_share import Runnable, fair_order


def jobs(*pairs: tuple[int, int | None]) -> list[Runnable]:
    return [Runnable(job_id, installation) for job_id, installation in pairs]


def test_installations_take_turns_oldest_first() -> None:
    flood = [(n, 1) for n in range(1, 6)]
    assert fair_order(jobs(*flood, (6, 2), (7, 3), (8, 2)), {}) == [1, 6, 7, 2, 8, 3, 4, 5]


def test_jobs_already_running_count_as_turns_taken() -> None:
    runnable = jobs((1, 1), (2, 1), (3, 2))
    assert fair_order(runnable, {1: 2}) == [3, 1, 2], "installation 1 has two running already"
    assert fair_order(runnable, {2: 5, 1: 0}) == [1, 2, 3]


def test_the_per_installation_cap_leaves_out_jobs_past_it() -> None:
    runnable = jobs((1, 1), (2, 1), (3, 1), (4, 2))
    assert fair_order(runnable, {1: 1}, max_per_installation=2) == [4, 1]
    assert fair_order(runnable, {1: 2, 2: 2}, max_per_installation=2) == []
    assert fair_order(runnable, {}, max_per_installation=1) == [1, 4]


def test_jobs_without_an_installation_share_one_uncapped_turn() -> None:
    runnable = jobs((1, None), (2, None), (3, 7))
    assert fair_order(runnable, {}, max_per_installation=1) == [1, 3, 2]


def test_the_order_does_not_depend_on_how_the_input_was_sorted() -> None:
    runnable = jobs((3, 2), (1, 1), (2, 1))
    assert fair_order(runnable, {}) == [1, 3, 2]
    assert fair_order([], {1: 3}) == []
