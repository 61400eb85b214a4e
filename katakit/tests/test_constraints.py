"""The forbidden-call check: names resolved through imports, globs, dynamic imports, methods."""

import pytest

from katakit.constraints import find_forbidden, unfinished_functions


def names(source, rules, **options):
    return [(v.name, v.line) for v in find_forbidden(source, rules, **options)]


@pytest.mark.parametrize("source, expected", [
    ("import numpy as n\nn.tile(x, 2)\n", [("numpy.tile", 2)]),
    ("from numpy import tile as spread\nspread(x)\n", [("numpy.tile", 1), ("numpy.tile", 2)]),
    ("import numpy\ngetattr(numpy, 'tile')(x)\n", [("numpy.tile", 2)]),
    ("import numpy as np\nnp.broadcast_to(x, (2, 2))\n", []),
])
def test_names_resolve_through_imports(source, expected):
    assert names(source, ["numpy.tile"]) == expected


@pytest.mark.parametrize("source", [
    "import tensorflow as tf\ntf.compat.v1.tile(x, [2])\n",
    "from tensorflow.python.ops import gen_array_ops\ngen_array_ops.tile(x, [2])\n",
    "import tensorflow as tf\ntf.raw_ops.Tile(input=x, multiples=[2])\n",
])
def test_glob_rules_catch_other_spellings(source):
    assert names(source, ["tensorflow.tile", "tensorflow.*.tile", "tensorflow.*.Tile"])


def test_glob_rule_does_not_catch_other_names():
    assert names("import tensorflow as tf\ntf.broadcast_to(x, [2])\ntf.reshape(x, [2])\n", ["tensorflow.*.tile"]) == []


@pytest.mark.parametrize("source", [
    "import statsmodels.api as sm\n",
    "from statsmodels.tsa.ar_model import AutoReg\n",
    "m = __import__('statsmodels.tsa.ar_model')\n",
    "import importlib\nm = importlib.import_module('statsmodels.tsa.ar_model')\n",
    "from importlib import import_module\nm = import_module('statsmodels')\n",
    "import sys\nm = sys.modules['statsmodels.tsa.ar_model']\n",
    "import sys\nm = sys.modules.get('statsmodels.tsa.ar_model')\n",
])
def test_a_forbidden_module_is_caught_however_it_is_imported(source):
    assert names(source, ["statsmodels"]), source


def test_mentioning_a_forbidden_module_in_text_is_allowed():
    source = ('def fit(y):\n    """Matches statsmodels\' AutoReg."""\n'
              '    raise ValueError("like statsmodels, this needs 2p + 2 values")\n')
    assert names(source, ["statsmodels"]) == []


def test_method_rules_catch_calls_on_any_object_but_not_resolved_names():
    source = "import tensorflow as tf\nx.numpy().repeat(2)\ny.tile(3)\ntf.shape(x)\n"
    assert names(source, [".repeat", ".tile"]) == [(".repeat()", 2), (".tile()", 3)]


def test_lines_limit_the_report_to_one_function():
    source = "import numpy as np\n\ndef a():\n    return np.tile(1, 2)\n\ndef b():\n    return np.tile(1, 3)\n"
    assert names(source, ["numpy.tile"], lines=(6, 7)) == [("numpy.tile", 7)]


def test_unfinished_functions_are_the_ones_that_only_raise_not_implemented():
    source = ('def a(x):\n    """Doc."""\n    raise NotImplementedError\n\n'
              'def b(x):\n    raise NotImplementedError()\n\n'
              'def c(x):\n    if x:\n        raise NotImplementedError\n    return x\n')
    assert unfinished_functions(source) == ["a", "b"]
