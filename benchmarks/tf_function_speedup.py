"""The tf.function speedups the tf_function_speedup kata is about, measured on this machine.

    python benchmarks/tf_function_speedup.py [--runs 15] [--code solutions|katas]

Times the eager ``slow_rollout`` against ``fast_rollout`` (the reference solution by default,
or your own with ``--code katas``) and against the same loop compiled with XLA
(``jit_compile=True``), for a few batch sizes and step counts. Each figure is the minimum of
--runs alternating calls after a warm-up, as the kata's own speed test measures it. Runs on
every GPU TensorFlow can see as well as on the CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from katakit.loading import import_framework, load_module
from katakit.timing import speedup

ROOT = Path(__file__).resolve().parent.parent
tf = import_framework("tensorflow")

CASES = ((16, 400), (1, 200), (64, 200))  # (batch, steps); the first is the kata's speed test


def measure(module, xla_rollout, device: str, batch: int, steps: int, runs: int):
    """(graph, xla): fast_rollout and the XLA-compiled loop, each against slow_rollout, on one device."""
    with tf.device(device):
        x = tf.random.stateless_normal([batch, module.STATE_SIZE], seed=[3, batch])

        def sync(result):
            return result.numpy()  # waits for the device before the clock stops

        graph = speedup(lambda: module.fast_rollout(x, steps), lambda: module.slow_rollout(x, steps),
                        runs=runs, sync=sync)
        xla = speedup(lambda: xla_rollout(x, steps), lambda: module.slow_rollout(x, steps), runs=runs, sync=sync)
    return graph, xla


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="alternating timed calls of each (default 15)")
    parser.add_argument("--code", choices=("solutions", "katas"), default="solutions",
                        help="whose fast_rollout to time (default: the reference solution)")
    options = parser.parse_args()
    module = load_module(ROOT / options.code / "tf_function_speedup.py", options.code)
    signature = [tf.TensorSpec([None, module.STATE_SIZE], tf.float32), tf.TensorSpec([], tf.int32)]

    def graph_rollout(x, steps):
        total = tf.zeros_like(x)
        for _ in tf.range(steps):
            x = tf.tanh(x @ module.W + module.b)
            total += x
        return total

    xla_rollout = tf.function(graph_rollout, input_signature=signature, jit_compile=True)
    devices = ["/CPU:0"] + [f"/GPU:{i}" for i, _ in enumerate(tf.config.list_physical_devices("GPU"))]
    print(f"TensorFlow {tf.__version__}; fast_rollout from {options.code}/tf_function_speedup.py; "
          f"minimum of {options.runs} alternating calls after a warm-up")
    print(f"{'device':<8} {'batch':>5} {'steps':>5} {'eager ms':>9} {'graph ms':>9} {'speedup':>8} "
          f"{'XLA ms':>8} {'XLA speedup':>11}")
    for device in devices:
        for batch, steps in CASES:
            graph, xla = measure(module, xla_rollout, device, batch, steps, options.runs)
            print(f"{device:<8} {batch:>5} {steps:>5} {graph.baseline_s * 1e3:>9.2f} "
                  f"{graph.candidate_s * 1e3:>9.2f} {graph.ratio:>7.1f}x {xla.candidate_s * 1e3:>8.2f} "
                  f"{xla.ratio:>10.1f}x")
    if len(devices) == 1:
        print("no GPU visible to TensorFlow: CPU figures only")
    traces = module.fast_rollout.experimental_get_tracing_count()
    print(f"fast_rollout traced {traces} time(s) across all of the above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
