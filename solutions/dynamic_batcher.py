"""A dynamic batcher for real-time inference, driven by an injected clock.

Real-time inference has two goals that pull against each other. Throughput wants big
batches: the model does far more work per second on 32 requests at once than on 32 requests
one by one. Latency wants every request answered quickly, and a request that sits waiting
for a batch to fill up is a slow request. A dynamic batcher (TensorFlow Serving's batching,
Triton's dynamic batcher, TorchServe's batch_size / max_batch_delay) resolves this with two
settings: a batch is sent to the model as soon as it holds ``max_batch_size`` requests, or as
soon as its oldest request has waited ``max_wait_ms`` milliseconds, whichever comes first.

Each caller submits one request and gets back a future that later holds its own result, or
its own error: the model may reject one request of a batch, or fail the whole batch, and
that must reach exactly the callers concerned, while the batcher carries on.

A real batcher runs a background thread that sleeps until the next deadline. That is hard
to test: real sleeps are slow and the thread's timing is not deterministic. So this batcher
has no thread and never sleeps. It reads the time from a clock you are given, and does its
work when it is called: ``submit`` queues a request, and ``poll`` (which a server would call
on every tick of its event loop) sends every batch that is due. The tests drive it with a
fake clock that moves only when they say so, and check exactly which batch ran when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future  # noqa: F401 (for the futures your batcher hands out)


class _Batcher:
    """The queue, the clock and the rules; see make_batcher for the contract."""

    def __init__(self, run_batch, max_batch_size, max_wait_ms, clock):
        self._run_batch, self._max_batch_size = run_batch, max_batch_size
        self._max_wait_ms, self._clock = max_wait_ms, clock
        self._queue: list[tuple[object, float, Future]] = []  # (request, arrival time, future), oldest first

    def __len__(self) -> int:
        return len(self._queue)

    def submit(self, request) -> Future:
        now = self._clock()
        self._send_due(now)  # a batch whose time is up is closed: the new request starts the next one
        future: Future = Future()
        self._queue.append((request, now, future))
        self._send_due(now)
        return future

    def poll(self) -> int:
        return self._send_due(self._clock())

    def flush(self) -> int:
        sent = 0
        while self._queue:
            self._send()
            sent += 1
        return sent

    def _due(self, now) -> bool:
        if not self._queue:
            return False
        oldest_arrival = self._queue[0][1]
        return len(self._queue) >= self._max_batch_size or now - oldest_arrival >= self._max_wait_ms

    def _send_due(self, now) -> int:
        sent = 0
        while self._due(now):
            self._send()
            sent += 1
        return sent

    def _send(self) -> None:
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        futures = [future for _, _, future in batch]
        try:
            results = self._run_batch([request for request, _, _ in batch])
        except Exception as error:  # the whole batch failed: every caller in it hears about it
            for future in futures:
                future.set_exception(error)
            return
        if not isinstance(results, list | tuple) or len(results) != len(batch):
            count = len(results) if isinstance(results, list | tuple) else type(results).__name__
            for future in futures:
                future.set_exception(ValueError(
                    f"run_batch returned {count} results for a batch of {len(batch)} requests"))
            return
        for future, result in zip(futures, results, strict=True):
            if isinstance(result, Exception):  # this request alone failed
                future.set_exception(result)
            else:
                future.set_result(result)


def make_batcher(run_batch: Callable[[list], Sequence], *, max_batch_size: int, max_wait_ms: float,
                 clock: Callable[[], float]):
    """Create a dynamic batcher that sends requests to `run_batch` in batches.

    Return an object of a class you write (in this file) with these methods:

    ``submit(request) -> concurrent.futures.Future``
        Read ``now = clock()``. First send the queued batch if it is due (see below): its
        time is up, so the new request must not join it. Then queue the request with ``now``
        as its arrival time and a new ``Future``, send the batch if it is now due (it may have
        just become full, or ``max_wait_ms`` may be 0), and return the future. A request can
        be any object, including ``None``, and equal requests are still separate requests.

    ``poll() -> int``
        Read ``now = clock()``, send the queued batch if it is due, and return how many
        batches were sent (0 or 1).

    ``flush() -> int``
        Send every queued request now, due or not, in batches of at most `max_batch_size`
        requests, oldest first; return how many batches were sent (0 when nothing is queued).

    ``len(batcher)``
        The number of requests queued and not yet sent.

    When a batch is due: the queue holds `max_batch_size` requests, or the oldest queued
    request has waited at least `max_wait_ms`, that is ``now - arrival >= max_wait_ms``
    (exactly `max_wait_ms` is enough). The wait is measured from the OLDEST queued request's
    arrival, whatever arrived after it and whenever the last batch was sent. Nothing is ever
    sent by any other rule, and only `submit`, `poll` and `flush` send anything.

    Sending a batch: take the oldest queued requests, at most `max_batch_size` of them, off
    the queue; call ``run_batch(requests)`` exactly once with a new list of them in arrival
    order; then settle each of their futures before the method returns:

    - ``run_batch`` returns a list or tuple with one entry per request, in the same order.
      Entry i goes to request i's future with ``future.set_result(entry)``, except when the
      entry is an instance of ``Exception``: that is a failure of that request alone, set with
      ``future.set_exception(entry)`` (the other requests of the batch still get their results).
    - If ``run_batch`` raises an ``Exception``, every future of that batch gets that same
      exception object with ``set_exception``.
    - If it returns a list or tuple of the wrong length, every future of that batch gets a
      ``ValueError`` (with a message that says so) with ``set_exception``.

    `submit`, `poll` and `flush` never raise because of ``run_batch``: errors go to the
    futures, and the batcher keeps working for the requests that follow.

    Times are in milliseconds: `clock` is called with no arguments and returns the current
    time in ms as an int or float, never decreasing (``lambda: time.monotonic() * 1000`` in a
    server, a fake clock in the tests). Callers do not cancel the futures.

    Args:
        run_batch: the model call, taking a list of requests and returning their results.
        max_batch_size: the most requests in one batch, an int >= 1.
        max_wait_ms: how long the oldest queued request may wait before its batch is sent
            without being full, in ms: a number >= 0 (0 sends every request as soon as it is
            submitted; ``float("inf")`` sends only full batches, and whatever `flush` sends).
        clock: the time source, in ms.

    Returns:
        The batcher, with an empty queue.

    Raises:
        ValueError: if ``max_batch_size < 1``, or `max_wait_ms` is negative or NaN.

    Example:
        >>> now = [0.0]
        >>> batcher = make_batcher(lambda xs: [x * 10 for x in xs], max_batch_size=3,
        ...                        max_wait_ms=5, clock=lambda: now[0])
        >>> a, b = batcher.submit(1), batcher.submit(2)
        >>> len(batcher), a.done()
        (2, False)
        >>> c = batcher.submit(3)  # the batch is full: [1, 2, 3] runs now
        >>> a.result(), b.result(), c.result(), len(batcher)
        (10, 20, 30, 0)
        >>> d = batcher.submit(4)
        >>> now[0] = 4.0
        >>> batcher.poll(), d.done()  # 4 ms waited: not yet
        (0, False)
        >>> now[0] = 5.0
        >>> batcher.poll(), d.result()  # 5 ms waited: [4] runs on its own
        (1, 40)
    """
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
    if not max_wait_ms >= 0:  # written this way round so that NaN fails too
        raise ValueError(f"max_wait_ms must be a number >= 0, got {max_wait_ms}")
    return _Batcher(run_batch, max_batch_size, max_wait_ms, clock)
