"""Common misconceptions for quiz_accelerators, and right answers written differently.

Each pitfall's diagnosis is also the message a learner who gives that answer sees.
"""

from katakit.pitfalls import alternative, pitfall


@pitfall("q02_timing_gpu_work",
         "PyTorch does not memoise results: the call returned because CUDA launches kernels asynchronously; "
         "synchronise before reading the clock.")
def thinks_results_are_cached():
    return "c"


@pitfall("q03_what_a_tpu_is",
         "TPUs are Google's own chips, not GPUs, and run no CUDA: frameworks reach them through the XLA compiler.")
def tpu_is_a_gpu():
    return "c"


@pitfall("q04_bfloat16_exponent_bits",
         "Five exponent bits is float16; bfloat16 keeps float32's 8 exponent bits (and its range) with only 7 "
         "mantissa bits.")
def float16_exponent():
    return "5"


@pitfall("q06_mirrored_strategy",
         "Splitting layers across devices is model parallelism; MirroredStrategy keeps a full copy of every "
         "variable on each device.")
def mirrored_is_model_parallel():
    return "c"


@pitfall("q06_mirrored_strategy",
         "Asynchronous training with parameter servers is ParameterServerStrategy; MirroredStrategy is "
         "synchronous, with all-reduce.")
def mirrored_is_parameter_server():
    return "a"


@pitfall("q07_per_replica_batch",
         "Under a strategy the dataset's batch is the GLOBAL batch, split across the replicas: 256 / 4 per GPU.")
def batch_is_per_replica():
    return "256"


@pitfall("q08_model_does_not_fit",
         "Each data-parallel replica holds the whole model, so it needs exactly the memory you lack; split the "
         "weights instead.")
def data_parallel_for_memory():
    return "a"


@pitfall("q09_intra_op_threads",
         "That is inter-op parallelism (independent ops at once); intra-op is the threads inside one op.")
def swaps_intra_and_inter():
    return "a"


@pitfall("q10_serving_on_four_gpus",
         "Splitting a model that fits on one GPU adds communication to every layer; for throughput, replicate "
         "it on each GPU.")
def tensor_parallel_for_throughput():
    return "a"


# ---- right answers written differently: the tests must accept every one of them ---------------

@alternative("q04_bfloat16_exponent_bits", "The count as an int.")
def bits_as_int():
    return 8


@alternative("q07_per_replica_batch", "The count written as a decimal with spaces.")
def count_as_decimal():
    return " 64.0 "


@alternative("q08_model_does_not_fit", "The letter in capitals and brackets.")
def capital_in_brackets():
    return "[B]"
