"""Tests for device_placement: choose a device, and move a nested batch there without needless copies.

No GPU is needed to prove the contract. choose_device is tested with torch.cuda.is_available
and torch.backends.mps.is_available replaced (pytest's monkeypatch), as the docstring warns.
to_device is tested by moving CPU tensors to the meta device, a real torch device that keeps
shapes and dtypes but no data: a tensor that must move comes back as a new tensor there, and
a tensor already on the target comes back as the very same object (checked with `is`, which
no copy can pass). Where a CUDA GPU is visible, one more test moves a batch to it and back;
elsewhere it is skipped with the reason.

The checks walk the result alongside the input: the same container types at the same places
(tuple, namedtuple class, dict or OrderedDict with the same key order), new lists and dicts,
leaves that are not tensors returned as the same objects, and the input left as it was.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

Pair = namedtuple("Pair", "features labels")
META = torch.device("meta")


# ---- walking a result alongside its input ---------------------------------------------------------

def already_on(tensor, device):
    device = torch.device(device)
    if tensor.device == device:
        return True
    return (device.type == "cuda" and device.index is None and tensor.device.type == "cuda"
            and tensor.device.index == torch.cuda.current_device())


def check_moved(original, result, device, path="batch"):
    """Fail, naming the place, unless `result` is `original` moved to `device` as to_device promises."""
    __tracebackhide__ = True
    if isinstance(original, torch.Tensor):
        assert isinstance(result, torch.Tensor), f"{path}: expected a tensor, got {type(result).__name__}"
        if already_on(original, device):
            assert result is original, (
                f"{path}: this tensor was already on {device}, so it must come back as the same object, not a copy "
                f"(Tensor.to returns the tensor itself in that case; .clone() or copy=True copy it)")
            return
        assert result.device.type == torch.device(device).type, (
            f"{path}: expected a tensor on {device}, got one on {result.device}")
        assert result.dtype == original.dtype and result.shape == original.shape, (
            f"{path}: moving must keep dtype and shape: {original.dtype} {tuple(original.shape)} became "
            f"{result.dtype} {tuple(result.shape)}")
        if result.device.type != "meta" and original.device.type != "meta":
            assert torch.equal(result.cpu(), original.cpu()), f"{path}: the values changed on the way"
        return
    if isinstance(original, dict):
        assert type(result) is type(original), (
            f"{path}: a {type(original).__name__} must come back as a {type(original).__name__}, "
            f"got {type(result).__name__}")
        assert result is not original, f"{path}: return a new {type(original).__name__}, not the input's"
        assert list(result) == list(original), (
            f"{path}: the keys must be the same, in the same order: {list(original)} became {list(result)}")
        for key in original:
            check_moved(original[key], result[key], device, f"{path}[{key!r}]")
        return
    if isinstance(original, list | tuple):
        assert type(result) is type(original), (
            f"{path}: a {type(original).__name__} must come back as a {type(original).__name__}, "
            f"got {type(result).__name__}")
        if isinstance(original, list):
            assert result is not original, f"{path}: return a new list, not the input's"
        assert len(result) == len(original), f"{path}: {len(original)} items became {len(result)}"
        for i, (a, b) in enumerate(zip(original, result, strict=True)):
            check_moved(a, b, device, f"{path}[{i}]")
        return
    assert result is original, (
        f"{path}: {type(original).__name__} values are not tensors: return them as they are (the same object), "
        f"got {result!r}")


def layout(value):
    """The objects of a batch, by identity, for checking that the input was left alone."""
    if isinstance(value, dict):
        return (type(value), id(value), [(key, layout(item)) for key, item in value.items()])
    if isinstance(value, list | tuple):
        return (type(value), id(value), [layout(item) for item in value])
    if isinstance(value, torch.Tensor):
        return (torch.Tensor, id(value), value.device, value.dtype, tuple(value.shape))
    return (type(value), id(value))


def move_and_check(kata, batch, device):
    __tracebackhide__ = True
    before = layout(batch)
    result = kata.to_device(batch, device)
    assert layout(batch) == before, "to_device modified its input batch; build new containers instead"
    check_moved(batch, result, device)
    return result


class Request:
    """Some object a batch might carry: not a tensor, not a container to walk."""

    def __init__(self, tensor):
        self.tensor = tensor


def make_batch():
    return {
        "input_ids": torch.arange(6).reshape(2, 3),
        "attention_mask": torch.ones(2, 3, dtype=torch.bool),
        "images": [torch.rand(3, 4, 4), torch.rand(3, 4, 4, dtype=torch.float64)],
        "pair": Pair(torch.zeros(2, 5), torch.tensor([1, 0])),
        "extras": OrderedDict([("scale", torch.tensor(0.5)), ("tags", ("a", "b")), ("ids", [7, 8])]),
        "meta": {"request": "req-7", "raw": b"\x00\x01", "sizes": (3, 4), "none": None, "pi": 3.14,
                 "array": np.arange(3), "set": {1, 2}, "object": Request(torch.ones(1))},
        "empty": {"list": [], "dict": {}, "tuple": ()},
    }


# ---- choose_device ----------------------------------------------------------------------------

def pretend(monkeypatch, cuda, mps):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def assert_device(result, kind, what):
    __tracebackhide__ = True
    assert isinstance(result, torch.device), f"{what}: expected a torch.device, got {result!r}"
    assert result.type == kind and result.index is None, (
        f"{what}: expected torch.device({kind!r}), a device without an index, got {result!r} (and "
        f"torch.device('cuda:0') != torch.device('cuda'))")


@pytest.mark.parametrize("cuda, mps, expected", [(True, False, "cuda"), (True, True, "cuda"), (False, True, "mps"),
                                                 (False, False, "cpu")])
def test_choose_device_prefers_cuda_then_mps_then_cpu(kata, monkeypatch, cuda, mps, expected):
    pretend(monkeypatch, cuda, mps)
    assert_device(kata.choose_device(), expected,
                  f"with CUDA {'available' if cuda else 'unavailable'} and MPS {'available' if mps else 'unavailable'} "
                  f"(decide when called, through torch.cuda.is_available() and torch.backends.mps.is_available())")


@pytest.mark.parametrize("cuda, mps", [(True, True), (False, False)])
def test_choose_device_honours_an_available_preference(kata, monkeypatch, cuda, mps):
    pretend(monkeypatch, cuda, mps)
    assert_device(kata.choose_device("cpu"), "cpu", "preferred='cpu'")
    if cuda:
        assert_device(kata.choose_device("cuda"), "cuda", "preferred='cuda' with CUDA available")
        assert_device(kata.choose_device("mps"), "mps", "preferred='mps' with MPS available")


@pytest.mark.parametrize("preferred", ["cuda", "mps"])
def test_choose_device_refuses_an_unavailable_preference(kata, monkeypatch, preferred):
    pretend(monkeypatch, False, False)
    with pytest.raises(ValueError):
        kata.choose_device(preferred)


@pytest.mark.parametrize("preferred", ["gpu", "CUDA", "cuda:0", "", "tpu", 0])
def test_choose_device_rejects_unknown_preferences(kata, monkeypatch, preferred):
    pretend(monkeypatch, True, True)
    with pytest.raises(ValueError):
        kata.choose_device(preferred)


# ---- to_device: fixed batches -------------------------------------------------------------------

def test_docstring_example(kata):
    batch = {"ids": torch.tensor([[1, 2]]), "lengths": [2], "name": "req-7"}
    moved = move_and_check(kata, batch, "meta")
    assert moved["ids"].device == META and moved["lengths"] == [2] and moved["name"] == "req-7"
    assert kata.to_device(batch, "cpu")["ids"] is batch["ids"], "a tensor already on the CPU must not be copied"


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")], ids=["str", "torch.device"])
def test_nothing_is_copied_when_everything_is_already_there(kata, device):
    move_and_check(kata, make_batch(), device)


@pytest.mark.parametrize("device", ["meta", META], ids=["str", "torch.device"])
def test_every_tensor_moves_and_everything_else_stays(kata, device):
    move_and_check(kata, make_batch(), device)


def test_tensors_already_on_the_target_are_kept_among_ones_that_move(kata):
    on_meta = torch.empty(4, 2, device="meta")
    batch = {"moves": torch.ones(4, 2), "stays": on_meta, "nested": [on_meta, (torch.zeros(3), on_meta)],
             "pair": Pair(torch.empty(1, device="meta"), torch.ones(1))}
    moved = move_and_check(kata, batch, "meta")
    assert moved["stays"] is on_meta and moved["nested"][1][1] is on_meta


def test_a_bare_tensor(kata):
    t = torch.rand(2, 2)
    assert kata.to_device(t, "cpu") is t, "a tensor already on the CPU comes back as itself"
    moved = kata.to_device(t, "meta")
    assert isinstance(moved, torch.Tensor) and moved.device == META and moved.shape == t.shape
    scalar = torch.tensor(3.0, dtype=torch.float64)
    check_moved(scalar, kata.to_device(scalar, "meta"), "meta")


def test_namedtuples_and_tuples_keep_their_types(kata):
    batch = (Pair(torch.ones(2), [torch.zeros(1)]), (torch.ones(1),), [Pair("x", torch.ones(1))])
    moved = move_and_check(kata, batch, "meta")
    assert moved[0].features.device == META and moved[0]._fields == ("features", "labels")


def test_nested_deeply(kata):
    batch = torch.ones(1)
    for depth in range(30):
        batch = [batch] if depth % 3 == 0 else {"level": batch} if depth % 3 == 1 else (batch, depth)
    move_and_check(kata, batch, "meta")


def test_the_result_does_not_share_containers_with_the_input(kata):
    batch = {"ids": [torch.ones(2)], "names": ["a", "b"], "nested": {"k": []}}
    moved = move_and_check(kata, batch, "cpu")
    moved["names"].append("c")
    moved["nested"]["k"].append(1)
    moved["ids"][0] = None
    unchanged = (isinstance(batch["ids"][0], torch.Tensor) and batch["names"] == ["a", "b"]
                 and batch["nested"] == {"k": []})
    assert unchanged, "changing the result changed the input: they share a list or dict"


@pytest.mark.parametrize("leaf", ["a string", b"bytes", 7, 2.5, None, True, np.arange(4), {1, 2},
                                  Request(torch.ones(1)), torch.float32, torch.device("cpu")],
                         ids=lambda v: type(v).__name__)
def test_values_that_are_not_tensors_are_returned_as_they_are(kata, leaf):
    assert kata.to_device(leaf, "meta") is leaf, f"a {type(leaf).__name__} is not a tensor: return it as it is"
    batch = {"leaf": leaf, "list": [leaf], "tuple": (leaf,)}
    move_and_check(kata, batch, "meta")


# ---- to_device: generated batches ----------------------------------------------------------------

@st.composite
def tensors(draw, devices):
    shape = draw(st.lists(st.integers(0, 3), max_size=3), label="shape")
    dtype = draw(st.sampled_from((torch.float32, torch.float64, torch.int64, torch.bool, torch.float16)),
                 label="dtype")
    return torch.zeros(shape, dtype=dtype, device=draw(st.sampled_from(devices), label="device"))


def batches(devices):
    """Nested batches whose tensors are on the given devices (meta tensors cannot move to the CPU)."""
    leaves = st.one_of(tensors(devices), st.text(max_size=3), st.integers(), st.none(), st.binary(max_size=3),
                       st.floats(allow_nan=False), st.builds(np.arange, st.integers(0, 3)))
    keys = st.one_of(st.text(max_size=3), st.integers(0, 5))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.lists(children, max_size=3).map(tuple),
            st.builds(Pair, children, children),
            st.dictionaries(keys, children, max_size=3),
            st.dictionaries(keys, children, max_size=3).map(lambda d: OrderedDict(reversed(list(d.items())))),
        ),
        max_leaves=15)


@settings(max_examples=100)
@given(batches(("cpu", "cpu", "meta")), st.sampled_from(("meta", META)))
def test_generated_batches_to_meta(kata, batch, device):
    move_and_check(kata, batch, device)


@settings(max_examples=50)
@given(batches(("cpu",)), st.sampled_from(("cpu", torch.device("cpu"))))
def test_generated_batches_already_on_the_cpu(kata, batch, device):
    move_and_check(kata, batch, device)


# ---- on a real GPU ---------------------------------------------------------------------------------

@pytest.mark.gpu
def test_on_a_cuda_gpu(kata):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible (torch.cuda.is_available() is False); the CPU tests prove the same "
                    "contract with the meta device and a faked torch.cuda.is_available")
    assert_device(kata.choose_device(), "cuda", "choose_device() on a machine with CUDA")
    batch = make_batch()
    on_gpu = move_and_check(kata, batch, "cuda")
    assert on_gpu["input_ids"].is_cuda and on_gpu["pair"].labels.is_cuda
    torch.cuda.synchronize()
    allocated = torch.cuda.memory_allocated()
    for target in ("cuda", torch.device("cuda", torch.cuda.current_device()), f"cuda:{torch.cuda.current_device()}"):
        again = move_and_check(kata, on_gpu, target)  # everything is already there: nothing may be copied
        assert again["images"][0] is on_gpu["images"][0]
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() == allocated, "moving a batch that is already on the GPU allocated memory"
    back = move_and_check(kata, on_gpu, "cpu")
    assert torch.equal(back["images"][1], batch["images"][1]) and torch.equal(back["input_ids"], batch["input_ids"])
