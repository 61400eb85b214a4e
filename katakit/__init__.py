"""Inference Katas tooling: the pytest plugin that runs the katas, and its helpers.

Kata tests use `katakit.testing` (comparisons, the differential check), `katakit.timing`
(speed ratios) and pitfall files use `katakit.pitfalls`. Importing this package is cheap:
nothing here imports torch or TensorFlow.
"""

__version__ = "0.1.0"
