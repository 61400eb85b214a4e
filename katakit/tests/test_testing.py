"""katakit.testing: comparisons and the differential check, on torch modules too."""

import pytest

from katakit.testing import Differential, Mismatch, close, describe, exact, snapshot

torch = pytest.importorskip("torch", reason="the module comparisons are about torch.nn.Module")


def model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))


def test_modules_compare_by_type_training_flags_and_state():
    a, b = model(), model()
    assert exact(a, b)
    b[1].eval()
    assert not exact(a, b), "a submodule's training flag differs"
    b = model()
    with torch.no_grad():
        b[0].weight[0, 0] += 1e-9
    assert not exact(a, b) and close(rtol=1e-6)(a, b)
    assert not exact(a, torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_torch_values_that_are_not_tensors_compare_with_equality():
    assert exact(torch.float32, torch.float32) and not exact(torch.float32, torch.float64)
    assert exact(torch.device("cpu"), torch.device("cpu"))
    assert exact(torch.Size([2, 3]), torch.Size([2, 3]))


def test_snapshot_of_a_module_is_a_copy_and_describe_names_it():
    m = model()
    copy = snapshot(m)
    assert copy is not m and exact(copy, m)
    assert describe(m.eval()).startswith("Sequential module (eval mode)")


class _Module:
    pass


def test_differential_catches_a_model_modified_in_place():
    def reference_predict(m, x):
        m.eval()
        with torch.no_grad():
            return m(x)

    def learner_predict(m, x):
        m.eval()  # leaves the caller's model in eval mode
        with torch.no_grad():
            return m(x)

    reference, kata = _Module(), _Module()
    reference.predict = lambda m, x: reference_predict(snapshot(m), x)
    kata.predict = learner_predict
    check = Differential(kata, reference, lambda: [])
    with pytest.raises(Mismatch, match="modified its argument #1 in place"):
        check("predict", model(), torch.randn(4, 3), equal=close(rtol=1e-6))
