"""Tests for dynamic_batcher: full batches at once, partial ones after max_wait_ms, results and errors
to the right callers, all driven by a fake clock so that every check is exact.

The fake clock returns milliseconds as multiples of 1/16, which floats hold exactly, so
``now - arrival >= max_wait_ms`` has one answer however it is computed. The fake model
records the clock's time and the requests of every batch it runs, so a test sees which batch
ran at which call.

The generated test replays random sequences of submit / poll / flush calls against the
test's own simulation of the rules (not the reference solution), and after every call
checks the batches sent so far, the queue length, the return value and every future.
Futures are only ever read after done() says they are done, so a wrong answer that leaves
one pending fails instead of hanging.
"""

from __future__ import annotations

import math
from concurrent.futures import Future

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
START = 1000.0  # the fake clock does not start at 0: arrival time 0 is not special


class FakeClock:
    """Milliseconds that move only when a test advances them."""

    def __init__(self, start=START):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, ms):
        self.now += ms


class BatchFailure(Exception):
    """What the fake model raises when a batch holds a poisoned request."""


class RequestFailure(Exception):
    """What the fake model returns, as a result, for a request it rejects."""


class NotAnError(BaseException):
    """A BaseException that is not an Exception: as an entry of run_batch's list, it is a plain result."""


class FakeModel:
    """run_batch: records (time, requests) and returns ("ok", request) for each request.

    A batch holding a request in `poison` raises BatchFailure; a request in `reject` gets a
    RequestFailure instance as its result; a batch holding a request in `short` gets one
    result too few and one in `long` one too many. The results of every second batch come
    back as a tuple instead of a list (the contract allows both).
    """

    def __init__(self, clock, poison=(), reject=(), short=(), long=()):
        self.clock = clock
        self.poison, self.reject, self.short, self.long = set(poison), set(reject), set(short), set(long)
        self.calls: list[tuple[float, tuple]] = []
        self.lists: list[tuple[list, tuple]] = []  # the list objects received, with a copy
        self.raised: dict[tuple, BatchFailure] = {}
        self.rejected: dict[object, RequestFailure] = {}

    def __call__(self, requests):
        assert isinstance(requests, list), f"run_batch must get a list, got {type(requests).__name__}"
        batch = tuple(requests)
        self.calls.append((self.clock.now, batch))
        self.lists.append((requests, batch))
        if self.poison.intersection(r for r in batch if r is not None):
            error = BatchFailure(f"batch {batch} failed")
            self.raised[batch] = error
            raise error
        results = []
        for r in batch:
            if r in self.reject:
                self.rejected[r] = RequestFailure(f"request {r} rejected")
                results.append(self.rejected[r])
            else:
                results.append(("ok", r))
        if self.short.intersection(batch):
            results = results[:-1]
        elif self.long.intersection(batch):
            results = results + [("ok", "extra")]
        # A list or a tuple is allowed: every second batch gets its results as a tuple.
        return tuple(results) if len(self.calls) % 2 == 0 else results


def make(kata, *, max_batch_size=4, max_wait_ms=10, **model_options):
    clock = FakeClock()
    model = FakeModel(clock, **model_options)
    batcher = kata.make_batcher(model, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, clock=clock)
    return batcher, model, clock


def batches(model):
    return [batch for _, batch in model.calls]


def settled(future):
    """('result', value) or ('error', exception) of a future that must be done."""
    __tracebackhide__ = True
    assert future.done(), "this future should be settled by now, and it is still pending"
    error = future.exception(timeout=0)
    return ("error", error) if error is not None else ("result", future.result(timeout=0))


def assert_result(future, value):
    __tracebackhide__ = True
    outcome = settled(future)
    assert outcome == ("result", value), f"expected the result {value!r}, the future holds {outcome!r}"


def assert_pending(*futures):
    __tracebackhide__ = True
    done = [i for i, f in enumerate(futures) if f.done()]
    assert not done, f"future(s) {done} are settled, but their batch should not have been sent yet"


def expect_poll(batcher, expected, why=""):
    __tracebackhide__ = True
    value = batcher.poll()
    assert value == expected, f"poll() returned {value!r}; expected {expected}, the number of batches it sent. {why}"


def expect_flush(batcher, expected, why=""):
    __tracebackhide__ = True
    value = batcher.flush()
    assert value == expected, f"flush() returned {value!r}; expected {expected}, the number of batches it sent. {why}"


def expect_queued(batcher, expected):
    __tracebackhide__ = True
    assert len(batcher) == expected, f"len(batcher) is {len(batcher)}; {expected} request(s) are queued"


# ---- construction ------------------------------------------------------------------------------

@pytest.mark.parametrize("max_batch_size, max_wait_ms", [(0, 10), (-1, 10), (4, -1), (4, -0.25), (4, math.nan)],
                         ids=["batch-0", "batch-neg", "wait-neg", "wait-neg-fraction", "wait-nan"])
def test_invalid_settings_raise_value_error(kata, max_batch_size, max_wait_ms):
    with pytest.raises(ValueError):
        kata.make_batcher(lambda xs: xs, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, clock=FakeClock())


def test_submit_returns_a_pending_future_and_queues_the_request(kata):
    batcher, model, _ = make(kata)
    future = batcher.submit("a")
    assert isinstance(future, Future), f"submit must return a concurrent.futures.Future, got {type(future).__name__}"
    assert_pending(future)
    assert len(batcher) == 1, f"one request is queued, len(batcher) says {len(batcher)}"
    assert model.calls == [], "nothing is due yet, but run_batch was called"


# ---- full batches ------------------------------------------------------------------------------

def test_a_full_batch_is_sent_at_once(kata):
    batcher, model, clock = make(kata, max_batch_size=3)
    futures = [batcher.submit(r) for r in ("a", "b")]
    assert_pending(*futures)
    futures.append(batcher.submit("c"))
    assert model.calls == [(clock.now, ("a", "b", "c"))], (
        f"the third request fills the batch, so submit must send it at once; run_batch calls: {model.calls}")
    for future, r in zip(futures, "abc", strict=True):
        assert_result(future, ("ok", r))
    expect_queued(batcher, 0)


def test_full_batches_go_in_arrival_order(kata):
    batcher, model, _ = make(kata, max_batch_size=2)
    futures = [batcher.submit(r) for r in range(5)]
    assert batches(model) == [(0, 1), (2, 3)], f"expected batches [(0, 1), (2, 3)], got {batches(model)}"
    expect_queued(batcher, 1)
    assert_pending(futures[4])
    expect_flush(batcher, 1)
    assert batches(model)[-1] == (4,)
    assert [settled(f) for f in futures] == [("result", ("ok", r)) for r in range(5)]


# ---- the wait ----------------------------------------------------------------------------------

def test_a_partial_batch_is_sent_when_the_oldest_has_waited_max_wait(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=10)
    a, b = batcher.submit("a"), batcher.submit("b")
    clock.advance(9.75)
    assert batcher.poll() == 0, "9.75 ms of 10 waited: poll must send nothing and return 0"
    assert_pending(a, b)
    clock.advance(0.25)
    sent = batcher.poll()
    assert model.calls == [(clock.now, ("a", "b"))], (
        f"the oldest request has waited exactly max_wait_ms=10 (that is enough), so poll sends [a, b]; "
        f"run_batch calls: {model.calls}")
    assert sent == 1, f"poll sent one batch and must return 1, it returned {sent!r}"
    assert_result(a, ("ok", "a"))
    assert_result(b, ("ok", "b"))
    expect_poll(batcher, 0)
    expect_queued(batcher, 0)


def test_the_wait_counts_from_the_oldest_request(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=10)
    batcher.submit("a")
    clock.advance(6)
    batcher.submit("b")
    clock.advance(4)  # a has waited 10 ms, b only 4
    expect_poll(batcher, 1, "a has waited 10 ms.")
    assert batches(model) == [("a", "b")], (
        f"a has waited 10 ms, so its batch goes now, b with it; later arrivals do not restart the wait. "
        f"run_batch calls: {model.calls}")


def test_the_wait_counts_from_arrival_not_from_the_last_batch(kata):
    batcher, model, clock = make(kata, max_batch_size=2, max_wait_ms=10)
    batcher.submit("a")
    clock.advance(3)
    batcher.submit("b")  # full: sent at t=3
    clock.advance(4)
    batcher.submit("c")  # arrives at t=7
    clock.advance(9.5)
    assert batcher.poll() == 0, "c has waited 9.5 ms of 10: nothing is due"
    clock.advance(0.5)
    expect_poll(batcher, 1, "c has waited 10 ms since it arrived.")
    assert batches(model) == [("a", "b"), ("c",)], (
        f"c has waited 10 ms since it arrived; run_batch calls: {model.calls}")


def test_a_request_arriving_after_the_deadline_starts_the_next_batch(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=10)
    a = batcher.submit("a")
    clock.advance(10)  # a's batch is due, but nobody polled
    b = batcher.submit("b")
    assert model.calls == [(clock.now, ("a",))], (
        f"a's time was up when b arrived: submit sends [a] first, then queues b for the next batch; "
        f"run_batch calls: {model.calls}")
    assert_result(a, ("ok", "a"))
    assert_pending(b)
    expect_queued(batcher, 1)
    clock.advance(9.75)
    expect_poll(batcher, 0)
    clock.advance(0.25)
    expect_poll(batcher, 1, "b has waited 10 ms.")
    assert batches(model) == [("a",), ("b",)], f"batches sent: {batches(model)}"


def test_a_late_request_does_not_complete_an_overdue_batch(kata):
    batcher, model, clock = make(kata, max_batch_size=2, max_wait_ms=5)
    batcher.submit("a")
    clock.advance(7)
    batcher.submit("b")  # would fill the batch, but a's batch closed at 5 ms
    assert batches(model) == [("a",)], (
        f"a's batch was due before b arrived, so it goes alone and b waits; run_batch calls: {model.calls}")
    expect_queued(batcher, 1)


def test_zero_wait_sends_every_request_at_once(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=0)
    futures = [batcher.submit(r) for r in "xyz"]
    assert batches(model) == [("x",), ("y",), ("z",)], (
        f"with max_wait_ms=0 a request is due the moment it arrives: submit sends it; batches: {batches(model)}")
    assert [settled(f) for f in futures] == [("result", ("ok", r)) for r in "xyz"]
    expect_poll(batcher, 0)
    expect_queued(batcher, 0)


def test_infinite_wait_sends_only_full_batches_and_flush(kata):
    batcher, model, clock = make(kata, max_batch_size=3, max_wait_ms=float("inf"))
    for r in range(4):
        batcher.submit(r)
    clock.advance(1e9)
    expect_poll(batcher, 0, "With max_wait_ms=inf only a full batch is ever due.")
    assert batches(model) == [(0, 1, 2)], f"only the full batch may be sent; batches sent: {batches(model)}"
    expect_flush(batcher, 1)
    assert batches(model) == [(0, 1, 2), (3,)], f"flush sends what is queued; batches sent: {batches(model)}"


def test_flush_sends_what_is_queued_and_poll_with_nothing_queued_sends_nothing(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=10)
    expect_poll(batcher, 0, "Nothing is queued.")
    expect_flush(batcher, 0, "Nothing is queued.")
    assert model.calls == [], "nothing was queued, but run_batch was called"
    futures = [batcher.submit(r) for r in (7, 8)]
    expect_flush(batcher, 1, "Two requests were queued.")
    assert model.calls == [(clock.now, (7, 8))], (
        f"flush sends the queued requests at once, due or not; run_batch calls: {model.calls}")
    assert [settled(f) for f in futures] == [("result", ("ok", 7)), ("result", ("ok", 8))]
    expect_queued(batcher, 0)
    expect_flush(batcher, 0, "Nothing is queued.")


def test_each_call_sends_at_most_one_partial_batch_of_its_own(kata):
    # The queue never holds a full batch between calls, so a due batch is everything queued.
    batcher, model, clock = make(kata, max_batch_size=3, max_wait_ms=2)
    batcher.submit("a")
    clock.advance(1)
    batcher.submit("b")
    clock.advance(1)  # a has waited 2: due
    batcher.submit("c")
    assert batches(model) == [("a", "b")], f"[a, b] is due when c arrives; batches: {batches(model)}"
    clock.advance(5)
    expect_poll(batcher, 1, "c has waited 5 ms.")
    assert batches(model) == [("a", "b"), ("c",)], f"batches sent: {batches(model)}"


# ---- results and errors to the right callers ---------------------------------------------------

def test_equal_requests_are_separate_callers(kata):
    clock = FakeClock()
    batcher = kata.make_batcher(lambda xs: list(range(len(xs))), max_batch_size=4, max_wait_ms=10, clock=clock)
    futures = [batcher.submit(r) for r in (None, None, 5, 5)]
    outcomes = [settled(f) for f in futures]
    assert outcomes == [("result", i) for i in range(4)], (
        f"run_batch returned [0, 1, 2, 3] for the requests [None, None, 5, 5]: result i goes to the i-th "
        f"request's future, also when requests are equal; yours: {outcomes}")
    assert len({id(f) for f in futures}) == 4, "every submit must return a new future"


def test_run_batch_gets_a_new_list_in_arrival_order(kata):
    batcher, model, clock = make(kata, max_batch_size=3, max_wait_ms=4)
    for r in ("first", "second"):
        batcher.submit(r)
        clock.advance(1)
    clock.advance(2)
    batcher.poll()
    batcher.submit("third")
    assert batches(model) == [("first", "second")]
    for r in ("fourth", "fifth", "sixth"):  # [third, fourth, fifth] is full, then sixth is flushed alone
        batcher.submit(r)
    batcher.flush()
    assert batches(model) == [("first", "second"), ("third", "fourth", "fifth"), ("sixth",)], (
        f"batches sent: {batches(model)}")
    assert all(received == list(copy) for received, copy in model.lists), (
        "a list given to run_batch changed after the call (emptied, or reused for a later batch): give each call "
        "a new list, not the batcher's queue")


def test_a_failing_batch_reaches_exactly_its_callers(kata):
    batcher, model, clock = make(kata, max_batch_size=2, max_wait_ms=10, poison={"bad"})
    first = [batcher.submit("x"), batcher.submit("bad")]  # raises inside this submit: it must not escape
    second = [batcher.submit("y"), batcher.submit("z")]
    error = model.raised.get(("x", "bad"))
    assert error is not None, f"the batch [x, bad] should have been run; run_batch calls: {model.calls}"
    for future in first:
        outcome = settled(future)
        assert outcome[0] == "error" and outcome[1] is error, (
            f"run_batch raised for the batch [x, bad]: both of its futures get that same exception; "
            f"this one holds {outcome!r}")
    assert [settled(f) for f in second] == [("result", ("ok", "y")), ("result", ("ok", "z"))], (
        "the next batch must not be affected by the failure of the one before")


def test_a_batch_failing_in_poll_and_flush_does_not_escape(kata):
    batcher, model, clock = make(kata, max_batch_size=4, max_wait_ms=5, poison={"bad"})
    a = batcher.submit("bad")
    clock.advance(5)
    assert batcher.poll() == 1, "poll sent one batch (which failed) and must return 1"
    b = batcher.submit("bad")
    assert batcher.flush() == 1, "flush sent one batch (which failed) and must return 1"
    for future in (a, b):
        assert isinstance(settled(future)[1], BatchFailure)
    c = batcher.submit("fine")
    clock.advance(5)
    batcher.poll()
    assert_result(c, ("ok", "fine"))


def test_a_rejected_request_fails_alone(kata):
    batcher, model, clock = make(kata, max_batch_size=3, max_wait_ms=10, reject={"b"})
    futures = [batcher.submit(r) for r in "abc"]
    assert_result(futures[0], ("ok", "a"))
    outcome = settled(futures[1])
    assert outcome[0] == "error" and outcome[1] is model.rejected["b"], (
        f"run_batch returned an exception instance as b's result: b's future gets it with set_exception; "
        f"yours holds {outcome!r}")
    assert_result(futures[2], ("ok", "c"))


def test_only_exception_instances_are_failures(kata):
    # The rule is isinstance(entry, Exception): a BaseException that is not an Exception, or an exception
    # class, is an ordinary result.
    odd = NotAnError("an ordinary result that happens to be a BaseException")
    clock = FakeClock()
    batcher = kata.make_batcher(lambda xs: [odd, ValueError, "fine"], max_batch_size=3, max_wait_ms=10,
                                clock=clock)
    futures = [batcher.submit(r) for r in "abc"]
    outcomes = [settled(f) for f in futures]
    assert outcomes[0] == ("result", odd), (
        f"run_batch returned a BaseException that is not an Exception: it is a result (set_result), not a "
        f"failure; the future holds {outcomes[0]!r}")
    assert outcomes[1] == ("result", ValueError), (
        f"run_batch returned the class ValueError, not an instance: it is a result; the future holds {outcomes[1]!r}")
    assert outcomes[2] == ("result", "fine")


@pytest.mark.parametrize("wrong", ["short", "long"])
def test_the_wrong_number_of_results_fails_the_batch_with_value_error(kata, wrong):
    batcher, model, clock = make(kata, max_batch_size=3, max_wait_ms=10, **{wrong: {"b"}})
    futures = [batcher.submit(r) for r in "abc"]
    for future in futures:
        outcome = settled(future)
        assert outcome[0] == "error" and isinstance(outcome[1], ValueError), (
            f"run_batch returned {'2' if wrong == 'short' else '4'} results for 3 requests: every future of the "
            f"batch gets a ValueError; this one holds {outcome!r}")
    after = batcher.submit("d")
    batcher.flush()
    assert_result(after, ("ok", "d"))


# ---- generated call sequences against the test's own simulation ----------------------------------

def simulate(events, max_batch_size, max_wait_ms):
    """The rules, written out: for each event, (batches sent so far, queue length, return value)."""
    queue, sent, now, steps, next_request = [], [], START, [], 0

    def due():
        return bool(queue) and (len(queue) >= max_batch_size or now - queue[0][1] >= max_wait_ms)

    def send():
        batch = queue[:max_batch_size]
        del queue[:max_batch_size]
        sent.append((now, tuple(r for r, _ in batch)))

    for kind, advance in events:
        now += advance
        count = 0
        if kind == "submit":
            while due():
                send()
            queue.append((next_request, now))
            next_request += 1
            while due():
                send()
        elif kind == "poll":
            while due():
                send()
                count += 1
        else:
            while queue:
                send()
                count += 1
        steps.append((list(sent), len(queue), None if kind == "submit" else count))
    return steps


def expected_outcome(model, request, batch):
    if model.poison.intersection(batch):
        return ("error", model.raised[batch])
    if model.short.intersection(batch) or model.long.intersection(batch):
        return ("error", ValueError)
    if request in model.reject:
        return ("error", model.rejected[request])
    return ("result", ("ok", request))


# Clock steps of 0 to 6 ms in multiples of 3/16 ms (exact in binary floating point), most of
# them fractional, so that arrivals and polls fall between whole milliseconds and a wait
# measured in whole ms shows.
ADVANCES = st.integers(0, 32).map(lambda q: q * 3 / 16)


@st.composite
def scenarios(draw):
    events = draw(st.lists(st.tuples(st.sampled_from(["submit", "submit", "submit", "poll", "poll", "flush"]),
                                     ADVANCES),
                           min_size=8, max_size=30), label="events")
    max_batch_size = draw(st.integers(1, 5), label="max_batch_size")
    max_wait_ms = draw(st.sampled_from([0, 0.5, 1, 2.5, 4, 10, float("inf")]), label="max_wait_ms")
    n = sum(kind == "submit" for kind, _ in events)
    subsets = st.sets(st.integers(0, max(n - 1, 0)), max_size=2)
    failures = {name: draw(subsets, label=name) for name in ("poison", "reject", "short")}
    return events, max_batch_size, max_wait_ms, failures


@settings(max_examples=150, phases=NO_EXPLAIN)
@given(scenario=scenarios())
def test_generated_call_sequences(kata, scenario):
    events, max_batch_size, max_wait_ms, failures = scenario
    clock = FakeClock()
    model = FakeModel(clock, **failures)
    batcher = kata.make_batcher(model, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, clock=clock)
    futures, where = [], {}
    for step, ((kind, advance), (sent, queued, returned)) in enumerate(
            zip(events, simulate(events, max_batch_size, max_wait_ms), strict=True)):
        clock.advance(advance)
        if kind == "submit":
            futures.append(batcher.submit(len(futures)))
            value = None
        else:
            value = batcher.poll() if kind == "poll" else batcher.flush()
        call = f"call {step} ({kind} at t={clock.now - START:g} ms)"
        assert model.calls == sent, (
            f"after {call}, the batches sent (time, requests) differ\n  expected: {sent}\n  yours:    {model.calls}")
        assert value == returned, f"{call} returned {value!r}; expected {returned!r}"
        assert len(batcher) == queued, f"after {call}, len(batcher) is {len(batcher)}; {queued} requests are queued"
        for _, batch in sent:
            for request in batch:
                where[request] = batch
        for request, future in enumerate(futures):
            if request not in where:
                assert not future.done(), f"after {call}, request {request} is settled but was never sent"
                continue
            outcome = settled(future)
            wanted = expected_outcome(model, request, where[request])
            if wanted[1] is ValueError:
                assert outcome[0] == "error" and isinstance(outcome[1], ValueError), (
                    f"request {request}'s batch got the wrong number of results: expected a ValueError, "
                    f"the future holds {outcome!r}")
            else:
                assert outcome[0] == wanted[0] and (outcome[1] is wanted[1] or outcome[1] == wanted[1]), (
                    f"after {call}, request {request}'s future holds {outcome!r}; expected {wanted!r}")
