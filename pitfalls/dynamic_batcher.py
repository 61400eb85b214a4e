"""Known wrong answers for dynamic_batcher, and correct answers written differently.

Each answer replaces make_batcher; most are the reference batcher with one method changed.
"""

from __future__ import annotations

import collections
import types
from concurrent.futures import Future

from katakit.pitfalls import alternative, pitfall, reference_solution

ref = reference_solution(__file__)


def _validated(max_batch_size, max_wait_ms):
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
    if not max_wait_ms >= 0:
        raise ValueError(f"max_wait_ms must be a number >= 0, got {max_wait_ms}")


class _NewestRequestTimer(ref._Batcher):
    def _due(self, now):
        if not self._queue:
            return False
        newest_arrival = self._queue[-1][1]
        return len(self._queue) >= self._max_batch_size or now - newest_arrival >= self._max_wait_ms


@pitfall("make_batcher", "Measures the wait from the NEWEST queued request, so every arrival restarts the timer "
                         "and a steady trickle of requests starves the oldest one.")
def timer_from_the_newest_request(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _NewestRequestTimer(run_batch, max_batch_size, max_wait_ms, clock)


class _StrictlyLonger(ref._Batcher):
    def _due(self, now):
        if not self._queue:
            return False
        return len(self._queue) >= self._max_batch_size or now - self._queue[0][1] > self._max_wait_ms


@pitfall("make_batcher", "Sends a partial batch only once the oldest request has waited MORE than max_wait_ms "
                         "(> instead of >=), so a request that has waited exactly max_wait_ms is held back.")
def waits_strictly_longer(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _StrictlyLonger(run_batch, max_batch_size, max_wait_ms, clock)


class _LateJoiner(ref._Batcher):
    def submit(self, request):
        now = self._clock()
        future = Future()
        self._queue.append((request, now, future))  # queued before the overdue batch is sent
        self._send_due(now)
        return future


@pitfall("make_batcher", "Queues a new request before sending the batch whose time is already up, so a request "
                         "that arrives after the deadline rides along in the overdue batch.")
def late_request_joins_the_overdue_batch(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _LateJoiner(run_batch, max_batch_size, max_wait_ms, clock)


class _OnlyPollSends(ref._Batcher):
    def submit(self, request):
        future = Future()
        self._queue.append((request, self._clock(), future))
        return future


@pitfall("make_batcher", "Only poll sends batches: a full batch waits for the next poll instead of going the "
                         "moment it fills up.")
def full_batch_waits_for_poll(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _OnlyPollSends(run_batch, max_batch_size, max_wait_ms, clock)


class _ErrorsEscape(ref._Batcher):
    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        results = self._run_batch([request for request, _, _ in batch])  # an exception escapes to the caller
        for (_, _, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


@pitfall("make_batcher", "Lets an exception from run_batch escape from submit or poll: the batch's callers never "
                         "hear about it and their futures stay pending forever.")
def run_batch_errors_escape(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _ErrorsEscape(run_batch, max_batch_size, max_wait_ms, clock)


class _ExceptionsAsResults(ref._Batcher):
    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        futures = [future for _, _, future in batch]
        try:
            results = self._run_batch([request for request, _, _ in batch])
        except Exception as error:
            for future in futures:
                future.set_exception(error)
            return
        if len(results) != len(batch):
            for future in futures:
                future.set_exception(ValueError("wrong number of results"))
            return
        for future, result in zip(futures, results, strict=True):
            future.set_result(result)  # an exception instance becomes a "result"


@pitfall("make_batcher", "Hands a returned exception instance to the caller as an ordinary result, so the "
                         "request that failed looks like it succeeded.")
def returned_exception_becomes_a_result(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _ExceptionsAsResults(run_batch, max_batch_size, max_wait_ms, clock)


class _ZipTruncates(ref._Batcher):
    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        futures = [future for _, _, future in batch]
        try:
            results = self._run_batch([request for request, _, _ in batch])
        except Exception as error:
            for future in futures:
                future.set_exception(error)
            return
        for future, result in zip(futures, results):  # noqa: B905 -- the mistake: too few results go unnoticed
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


@pitfall("make_batcher", "Pairs futures with results using zip() without checking the lengths: with too few "
                         "results the last callers wait forever, with too many the extras are silently dropped.")
def zip_drops_unmatched_futures(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _ZipTruncates(run_batch, max_batch_size, max_wait_ms, clock)


class _ByRequestValue(ref._Batcher):
    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        requests = [request for request, _, _ in batch]
        try:
            results = self._run_batch(list(requests))
        except Exception as error:
            for _, _, future in batch:
                future.set_exception(error)
            return
        if len(results) != len(batch):
            for _, _, future in batch:
                future.set_exception(ValueError("wrong number of results"))
            return
        by_request = dict(zip(requests, results, strict=True))  # equal requests collide: the last one wins
        for request, _, future in batch:
            result = by_request[request]
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


@pitfall("make_batcher", "Routes results through a dict keyed by the request, so two callers with equal requests "
                         "both get the result of the last one.")
def results_keyed_by_request(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _ByRequestValue(run_batch, max_batch_size, max_wait_ms, clock)


class _TimerFromLastSend(ref._Batcher):
    def __init__(self, *args):
        super().__init__(*args)
        self._last_send = self._clock()

    def _due(self, now):
        if not self._queue:
            return False
        return len(self._queue) >= self._max_batch_size or now - self._last_send >= self._max_wait_ms

    def _send(self):
        super()._send()
        self._last_send = self._clock()


@pitfall("make_batcher", "Measures the wait from when the last batch was sent, not from the oldest request's "
                         "arrival, so after a quiet spell a new request is sent at once.")
def timer_from_the_last_send(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _TimerFromLastSend(run_batch, max_batch_size, max_wait_ms, clock)


class _NewestFirst(ref._Batcher):
    def _send(self):
        self._queue.reverse()  # takes from the end, like a stack
        super()._send()
        self._queue.reverse()


@pitfall("make_batcher", "Takes requests from the end of the queue like a stack, so run_batch gets them newest "
                         "first instead of in arrival order.")
def newest_first(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _NewestFirst(run_batch, max_batch_size, max_wait_ms, clock)


# ---- correct answers written differently: the tests must accept every one of them -----------

class _BaseExceptionsAsFailures(ref._Batcher):
    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        futures = [future for _, _, future in batch]
        try:
            results = self._run_batch([request for request, _, _ in batch])
        except Exception as error:
            for future in futures:
                future.set_exception(error)
            return
        if len(results) != len(batch):
            for future in futures:
                future.set_exception(ValueError("wrong number of results"))
            return
        for future, result in zip(futures, results, strict=True):
            if isinstance(result, BaseException):  # the contract says Exception
                future.set_exception(result)
            else:
                future.set_result(result)


@pitfall("make_batcher", "Treats every BaseException instance in run_batch's list as a failure, where the rule is "
                         "isinstance(entry, Exception).")
def base_exception_entries_fail(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _BaseExceptionsAsFailures(run_batch, max_batch_size, max_wait_ms, clock)


class _SharedBatchList(ref._Batcher):
    """Hands run_batch one list object that it empties and refills for every batch."""

    def _send(self):
        batch = self._queue[:self._max_batch_size]
        del self._queue[:self._max_batch_size]
        futures = [future for _, _, future in batch]
        shared = self.__dict__.setdefault("_shared", [])
        shared.clear()
        shared.extend(request for request, _, _ in batch)
        try:
            results = self._run_batch(shared)
        except Exception as error:
            for future in futures:
                future.set_exception(error)
            return
        if len(results) != len(batch):
            for future in futures:
                future.set_exception(ValueError("wrong number of results"))
            return
        for future, result in zip(futures, results, strict=True):
            (future.set_exception if isinstance(result, Exception) else future.set_result)(result)


@pitfall("make_batcher", "Reuses one list for every call of run_batch, so a list that run_batch kept (a model that "
                         "batches asynchronously, a log) changes under it when the next batch is sent.")
def reuses_the_batch_list(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _SharedBatchList(run_batch, max_batch_size, max_wait_ms, clock)


class _DequeWithDeadline:
    """A deque of entries and one deadline: the oldest arrival plus max_wait_ms."""

    def __init__(self, run_batch, max_batch_size, max_wait_ms, clock):
        self.run_batch, self.size, self.wait, self.clock = run_batch, max_batch_size, max_wait_ms, clock
        self.entries = collections.deque()

    def __len__(self):
        return len(self.entries)

    def _deadline(self):
        return self.entries[0][1] + self.wait if self.entries else None

    def _ready(self, now):
        return len(self.entries) >= self.size or (self.entries and now >= self._deadline())

    def _run(self):
        taken = [self.entries.popleft() for _ in range(min(self.size, len(self.entries)))]
        try:
            outputs = list(self.run_batch([request for request, _, _ in taken]))
        except Exception as error:
            outputs = [error] * len(taken)
        else:
            if len(outputs) != len(taken):
                mismatch = ValueError(f"{len(outputs)} results for {len(taken)} requests")
                outputs = [mismatch] * len(taken)
        for (_, _, future), output in zip(taken, outputs, strict=True):
            (future.set_exception if isinstance(output, Exception) else future.set_result)(output)

    def _drain(self, now):
        count = 0
        while self._ready(now):
            self._run()
            count += 1
        return count

    def submit(self, request):
        now = self.clock()
        self._drain(now)
        future = Future()
        self.entries.append((request, now, future))
        self._drain(now)
        return future

    def poll(self):
        return self._drain(self.clock())

    def flush(self):
        count = 0
        while self.entries:
            self._run()
            count += 1
        return count


@alternative("make_batcher", "A deque and an explicit deadline (oldest arrival + max_wait_ms), compared as "
                             "now >= deadline.")
def deque_with_deadline(run_batch, *, max_batch_size, max_wait_ms, clock):
    if max_batch_size < 1 or max_wait_ms < 0 or max_wait_ms != max_wait_ms:
        raise ValueError("max_batch_size must be >= 1 and max_wait_ms >= 0")
    return _DequeWithDeadline(run_batch, max_batch_size, max_wait_ms, clock)


class _Namespace(types.SimpleNamespace):
    def __len__(self):
        return self.pending()


@alternative("make_batcher", "Closures over parallel lists of requests, arrival times and futures, returned in a "
                             "namespace object.")
def closures(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    requests, arrivals, futures = [], [], []

    def send_one():
        n = min(max_batch_size, len(requests))
        batch, waiting = requests[:n], futures[:n]
        del requests[:n], arrivals[:n], futures[:n]
        try:
            results = run_batch(batch)
            ok = len(results) == n
        except Exception as error:
            for future in waiting:
                future.set_exception(error)
            return
        for i, future in enumerate(waiting):
            if not ok:
                future.set_exception(ValueError(f"run_batch returned {len(results)} results for {n} requests"))
            elif isinstance(results[i], Exception):
                future.set_exception(results[i])
            else:
                future.set_result(results[i])

    def send_due(now):
        count = 0
        while requests and (len(requests) >= max_batch_size or (now - arrivals[0]) >= max_wait_ms):
            send_one()
            count += 1
        return count

    def submit(request):
        now = clock()
        send_due(now)
        future = Future()
        requests.append(request)
        arrivals.append(now)
        futures.append(future)
        send_due(now)
        return future

    def flush():
        count = 0
        while requests:
            send_one()
            count += 1
        return count

    return _Namespace(submit=submit, poll=lambda: send_due(clock()), flush=flush, pending=lambda: len(requests))


@pitfall("make_batcher", "Reads the clock as whole milliseconds (int(clock())), so a request that arrived at "
                         "0.75 ms looks due at 1.0 ms under a 0.5 ms wait, and fractional waits are misjudged.")
def whole_milliseconds(run_batch, *, max_batch_size, max_wait_ms, clock):
    return ref.make_batcher(run_batch, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms,
                            clock=lambda: int(clock()))


class _ListResultsOnly(ref._Batcher):
    def __init__(self, run_batch, *args):
        def list_only(requests):
            results = run_batch(requests)
            if not isinstance(results, list):
                raise ValueError(f"run_batch must return a list, got {type(results).__name__}")
            return results

        super().__init__(list_only, *args)


@pitfall("make_batcher", "Accepts only a list from run_batch and fails every request of a batch whose results "
                         "come back as a tuple, which the contract allows.")
def tuple_results_fail(run_batch, *, max_batch_size, max_wait_ms, clock):
    _validated(max_batch_size, max_wait_ms)
    return _ListResultsOnly(run_batch, max_batch_size, max_wait_ms, clock)
