"""Known wrong answers for batch_predict, and correct answers written differently."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from katakit.pitfalls import alternative, pitfall

PAD_ID = 0


def _check(requests, max_batch_size):
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
    for request in requests:
        if request.dim() != 1 or request.numel() == 0:
            raise ValueError("every request must be a non-empty 1-D tensor")


def _right_padded(chunk):
    tokens = torch.full((len(chunk), max(len(r) for r in chunk)), PAD_ID, dtype=torch.int64)
    for row, request in enumerate(chunk):
        tokens[row, :len(request)] = request
    return tokens


@pitfall("batch_predict", "Sorts the requests by length to batch them and returns the results in that sorted "
                          "order instead of the caller's order.")
def results_in_sorted_order(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    ordered = sorted(requests, key=len)
    results = []
    with torch.inference_mode():
        for start in range(0, len(ordered), max_batch_size):
            chunk = ordered[start:start + max_batch_size]
            scores = model(_right_padded(chunk))
            results.extend(scores[row, :len(r)] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Pads at the start of each row: a causal model reads the padding first, so every "
                          "shorter request's results change.")
def left_padding(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            chunk = requests[start:start + max_batch_size]
            longest = max(len(r) for r in chunk)
            tokens = torch.full((len(chunk), longest), PAD_ID, dtype=torch.int64)
            for row, request in enumerate(chunk):
                tokens[row, longest - len(request):] = request
            scores = model(tokens)
            results.extend(scores[row, longest - len(r):] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Never cuts the padding off: every result has the length of its batch's longest request.")
def keeps_the_padding(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            scores = model(_right_padded(requests[start:start + max_batch_size]))
            results.extend(scores.unbind(0))
    return results


@pitfall("batch_predict", "Batches the requests sorted by length but unpads with the lengths in the caller's order, "
                          "so rows are cut to another request's length.")
def unpads_with_the_wrong_lengths(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    order = sorted(range(len(requests)), key=lambda i: len(requests[i]))
    results = [None] * len(requests)
    with torch.inference_mode():
        for start in range(0, len(order), max_batch_size):
            picked = order[start:start + max_batch_size]
            scores = model(_right_padded([requests[i] for i in picked]))
            for row, index in enumerate(picked):
                results[index] = scores[row, :len(requests[start + row])]
    return results


@pitfall("batch_predict", "Runs len(requests) // max_batch_size batches, so the requests of a last, partial batch "
                          "are never run.")
def drops_the_last_partial_batch(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    with torch.inference_mode():
        for number in range(len(requests) // max_batch_size):
            chunk = requests[number * max_batch_size:(number + 1) * max_batch_size]
            scores = model(_right_padded(chunk))
            results.extend(scores[row, :len(r)] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Still runs one request per model call: right values, none of the throughput.")
def one_request_per_call(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    with torch.inference_mode():
        return [model(request[None])[0] for request in requests]


@pitfall("batch_predict", "Pads every batch to the longest request of all, so short batches carry long runs of "
                          "padding.")
def pads_to_the_longest_request_of_all(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    longest = max((len(r) for r in requests), default=0)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            chunk = requests[start:start + max_batch_size]
            tokens = torch.full((len(chunk), longest), PAD_ID, dtype=torch.int64)
            for row, request in enumerate(chunk):
                tokens[row, :len(request)] = request
            scores = model(tokens)
            results.extend(scores[row, :len(r)] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Runs the model with autograd on: every result requires grad and the graph of the "
                          "whole batch is kept alive.")
def records_gradients(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    for start in range(0, len(requests), max_batch_size):
        chunk = requests[start:start + max_batch_size]
        scores = model(_right_padded(chunk))
        results.extend(scores[row, :len(r)] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Uses pad_sequence without batch_first=True, so the model gets a (length, batch) tensor "
                          "and reads each column as a request.")
def pad_sequence_time_major(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            chunk = requests[start:start + max_batch_size]
            scores = model(pad_sequence(chunk, padding_value=PAD_ID))
            results.extend(scores[:len(r), row] for row, r in enumerate(chunk))
    return results


@pitfall("batch_predict", "Sorts the caller's list in place (requests.sort(key=len)) to batch by length, so the "
                          "caller's list is reordered and the results follow the new order.")
def sorts_the_callers_list(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    requests.sort(key=len)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            chunk = requests[start:start + max_batch_size]
            scores = model(_right_padded(chunk))
            results.extend(scores[row, :len(r)] for row, r in enumerate(chunk))
    return results


# ---- correct answers written differently: the tests must accept every one of them -----------

@pitfall("batch_predict", "Returns [] for an empty request list before checking max_batch_size, so "
                          "max_batch_size=0 passes silently when there happen to be no requests.")
def returns_early_before_checking(model, requests, max_batch_size):
    if not requests:
        return []
    _check(requests, max_batch_size)
    results = []
    with torch.inference_mode():
        for start in range(0, len(requests), max_batch_size):
            chunk = requests[start:start + max_batch_size]
            scores = model(_right_padded(chunk))
            results.extend(scores[row, :len(request)] for row, request in enumerate(chunk))
    return results


@alternative("batch_predict", "Sorts request indices by length (less padding), batches them with pad_sequence, "
                              "and scatters the results back to the caller's order.")
def sorted_by_length(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    order = sorted(range(len(requests)), key=lambda i: len(requests[i]), reverse=True)
    results = [None] * len(requests)
    with torch.inference_mode():
        for start in range(0, len(order), max_batch_size):
            picked = order[start:start + max_batch_size]
            tokens = pad_sequence([requests[i] for i in picked], batch_first=True, padding_value=PAD_ID)
            scores = model(tokens.long())
            for row, index in enumerate(picked):
                results[index] = scores[row, :len(requests[index])].clone()
    return results


@alternative("batch_predict", "Pads each request with F.pad and stacks them, under torch.no_grad(), returning "
                              "contiguous copies.")
def pad_and_stack_under_no_grad(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    results = []
    with torch.no_grad():
        batches = [requests[i:i + max_batch_size] for i in range(0, len(requests), max_batch_size)]
        for chunk in batches:
            longest = max(r.shape[0] for r in chunk)
            tokens = torch.stack([nn.functional.pad(r, (0, longest - r.shape[0]), value=PAD_ID) for r in chunk])
            scores = model(tokens.to(torch.int64))
            for row, request in enumerate(chunk):
                results.append(scores[row].narrow(0, 0, request.shape[0]).contiguous())
    return results


@alternative("batch_predict", "Groups requests round-robin (request i into batch i % number_of_batches), "
                              "so the batches are interleaved rather than consecutive.")
def round_robin_groups(model, requests, max_batch_size):
    _check(requests, max_batch_size)
    n_batches = -(-len(requests) // max_batch_size)
    results = [None] * len(requests)
    with torch.inference_mode():
        for b in range(n_batches):
            picked = list(range(b, len(requests), n_batches))
            scores = model(_right_padded([requests[i] for i in picked]))
            for row, index in enumerate(picked):
                results[index] = scores[row, :len(requests[index])]
    return results
