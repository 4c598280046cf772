"""Examples are made by threads a task at a time and handed over in order (`builder.made_in_order`)."""

import threading
import time

import pytest

from scene_text_seg import builder
from scene_text_seg.layout import Pair


def pairs(count: int) -> list[Pair]:
    return [Pair(f"img_{index}", f"img_{index}.jpg", f"img_{index}.png", image_role="images") for index in range(count)]


@pytest.fixture
def threads_for_any_example(monkeypatch):
    """Examples this test makes take microseconds: without this, `made_in_order` makes them all inline."""
    monkeypatch.setattr(builder, "INLINE_BELOW_SECONDS", 0.0)


@pytest.mark.parametrize("inline_below", [0.0, 1.0])  # threads after the first task; never
@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 100])
@pytest.mark.parametrize("given_as", [iter, list])
def test_every_example_comes_once_in_order(threads, count, inline_below, given_as, monkeypatch):
    monkeypatch.setattr(builder, "INLINE_BELOW_SECONDS", inline_below)
    made = list(builder.made_in_order(given_as(pairs(count)), lambda pair: {"id": pair.image_id}, threads))
    assert [example["id"] for _, example in made] == [pair.image_id for pair in pairs(count)]
    assert all(pair.image_id == example["id"] for pair, example in made)


@pytest.mark.parametrize("broken", [5, 21])  # in the first task, made inline; in a later one
@pytest.mark.parametrize("threads", [1, 2])
def test_an_error_comes_after_the_examples_before_its_pair(threads, broken, threads_for_any_example):
    def make(pair):
        if pair.image_id == f"img_{broken}":
            raise ValueError(f"img_{broken} is broken")
        return {"id": pair.image_id}

    seen = []
    with pytest.raises(ValueError, match=f"img_{broken} is broken"):
        for _, example in builder.made_in_order(iter(pairs(40)), make, threads):
            seen.append(example["id"])
    assert seen == [f"img_{index}" for index in range(broken)]


def test_threads_make_a_bounded_number_of_examples_ahead(threads_for_any_example):
    made, lock = [], threading.Lock()

    def make(pair):
        with lock:
            made.append(pair.image_id)
        return {"id": pair.image_id}

    threads = 2
    ahead = (threads * builder.TASKS_AHEAD_PER_THREAD + 1) * builder.EXAMPLES_PER_TASK
    stream = builder.made_in_order(iter(pairs(1000)), make, threads)
    for consumed in range(1, 200):
        next(stream)
        with lock:
            assert len(made) <= consumed + ahead
    stream.close()
    with lock:
        assert len(made) < 200 + ahead  # closing stops the threads: nothing more is made


def test_after_the_first_task_the_examples_are_made_by_the_pool_threads_a_task_at_a_time(threads_for_any_example):
    makers = {}

    def make(pair):
        makers[pair.image_id] = threading.current_thread().name
        return {}

    list(builder.made_in_order(iter(pairs(64)), make, 2))
    here = threading.current_thread().name
    first, later = builder.EXAMPLES_PER_TASK, range(builder.EXAMPLES_PER_TASK, 64)
    assert {makers[f"img_{index}"] for index in range(first)} == {here}  # timed here
    assert here not in {makers[f"img_{index}"] for index in later}
    tasks = [{makers[f"img_{index}"] for index in range(start, start + first)} for start in (first, 2 * first)]
    assert all(len(makers_of_task) == 1 for makers_of_task in tasks)  # one thread makes a whole task


@pytest.mark.parametrize("seconds, made_here", [(0.0, True), (0.003, False)])
def test_examples_shorter_than_the_bound_are_all_made_where_they_are_asked_for(seconds, made_here, monkeypatch):
    monkeypatch.setattr(builder, "INLINE_BELOW_SECONDS", 0.002)
    makers = {}

    def make(pair):
        time.sleep(seconds)
        makers[pair.image_id] = threading.current_thread().name
        return {}

    count = 2 * builder.EXAMPLES_PER_TASK + 3
    list(builder.made_in_order(iter(pairs(count)), make, 2))
    later = {makers[f"img_{index}"] for index in range(builder.EXAMPLES_PER_TASK, count)}
    assert (later == {threading.current_thread().name}) is made_here


@pytest.mark.parametrize("consumed", [0, 1, 15, 16, 17])  # in the first task (made here), at its end, after it
def test_a_stream_closed_early_makes_nothing_more_and_leaves_no_thread(consumed, threads_for_any_example):
    made, lock = [], threading.Lock()

    def make(pair):
        with lock:
            made.append(pair.image_id)
        return {}

    before = threading.active_count()
    stream = builder.made_in_order(iter(pairs(200)), make, 2)
    for _ in range(consumed):
        next(stream)
    stream.close()
    with lock:
        count = len(made)
    time.sleep(0.05)
    assert len(made) == count  # nothing is made once it is closed
    if consumed <= builder.EXAMPLES_PER_TASK:  # the first task is made here, an example as it is asked for
        assert count == consumed
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_one_thread_makes_the_examples_where_they_are_asked_for():
    makers = set()
    list(builder.made_in_order(iter(pairs(5)), lambda pair: makers.add(threading.current_thread().name) or {}, 1))
    assert makers == {threading.current_thread().name}


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, None])
def test_a_thread_count_that_is_not_a_positive_int_is_refused_at_the_call(threads):
    with pytest.raises(ValueError, match=r"^threads: expected an int of at least 1, found "):
        builder.made_in_order(iter(pairs(3)), lambda pair: {}, threads)
