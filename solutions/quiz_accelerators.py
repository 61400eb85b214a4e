"""Quiz: accelerators, parallelism and distribution (GPUs, TPUs, tf.distribute).

Each function below is one question; its docstring asks it. Answer by replacing
``raise NotImplementedError`` with ``return`` and your answer:

- lettered choices: the letter of the one right choice, ``return "b"``;
- a question that asks for a number: ``return "3"`` (``return 3`` and fractions such as
  ``"3/4"`` work too).

Check your answers with ``pytest tests/test_quiz_accelerators.py``. The tests keep the right
answers locked (as salted hashes), so reading them tells you nothing. A right answer passes
and unlocks a short explanation, printed under "unlocked explanations" at the end of the run
(``python -m katakit.quiz explain quiz_accelerators`` shows every one you have unlocked). A
wrong answer fails, with a specific message when it is a common misconception.

Example:
    A question "How many bits does a float32 number take? a) 16 b) 32" is answered by
    writing ``return "b"`` in place of ``raise NotImplementedError``.
"""


def q01_gpu_slower_for_tiny_model() -> str:
    """Why can a tiny model be slower on a GPU?

    A small model (two dense layers of 64 units) answers one request at a time. Measured
    carefully, each request takes longer on a modern GPU than on the CPU. What is the usual
    reason?

    a) GPUs compute in lower precision by default, and the extra rounding steps make small
       layers slower
    b) Dense layers have no GPU kernels, so the framework runs them on the GPU through a slow
       emulation layer
    c) Per-call fixed costs (copying data to and from the GPU, launching kernels) outweigh the
       little arithmetic a tiny model has to speed up
    d) The GPU recompiles the model's graph for every request, because every request is a new
       input

    Answer with one letter.
    """
    return "c"


def q02_timing_gpu_work() -> str:
    """Why is this GPU timing suspiciously fast?

    In PyTorch, with ``a`` and ``b`` two large CUDA tensors, you time a matrix multiply::

        t0 = time.perf_counter()
        y = a @ b
        t1 = time.perf_counter()

    The measured time is far below what the GPU could possibly need. Why, and how do you
    measure correctly?

    a) ``time.perf_counter`` cannot see GPU work; GPU code must be timed with ``time.time`` or
       ``time.process_time``
    b) CUDA kernels are launched asynchronously: the call returns once the work is queued, so
       call ``torch.cuda.synchronize()`` before reading each clock (after a warm-up)
    c) PyTorch caches the result of the previous identical multiply and returns it without
       computing it again
    d) The multiply silently ran on the CPU, where it returns before the GPU would even have
       started

    Answer with one letter.
    """
    return "b"


def q03_what_a_tpu_is() -> str:
    """What is a TPU built around?

    What is a Google TPU built around, and what does that mean for inference code that runs on
    one?

    a) Thousands of small general-purpose cores that excel at branching, irregular code such as
       tree search
    b) A large on-chip cache that speeds up any Python code, so it needs no compiler or special
       framework
    c) An NVIDIA GPU design built by Google, which runs the same CUDA kernels as any other GPU
    d) Matrix-multiply units (systolic arrays) programmed through the XLA compiler, which favour
       big batches, bfloat16 and fixed shapes

    Answer with one letter.
    """
    return "d"


def q04_bfloat16_exponent_bits() -> str:
    """How many exponent bits does bfloat16 have?

    Accelerators compute in 16-bit formats to double throughput and halve memory traffic.
    bfloat16 keeps the numeric RANGE of float32 while giving up precision, which is why it
    rarely needs the loss scaling that float16 training does. How many bits of a bfloat16
    number encode its exponent? Answer with a number.
    """
    return "8"


def q05_decoding_is_memory_bound() -> str:
    """Why does batch-1 text generation leave a GPU mostly idle?

    A large language model generates text one token at a time for a single user (batch size 1)
    and uses only a small fraction of the GPU's arithmetic throughput. Why, and what raises the
    number of tokens per second the GPU produces?

    a) The GPU waits for the tokenizer on the CPU at every step; moving tokenization to the GPU
       fixes it
    b) The softmax over a large vocabulary dominates each step; replacing it with an argmax
       fixes it
    c) Each step reads every weight from memory for about two operations per weight, so memory
       bandwidth limits it; batching several sequences reuses each read
    d) The weights are reloaded from the checkpoint file at every step; keeping them in GPU
       memory fixes it

    Answer with one letter.
    """
    return "c"


def q06_mirrored_strategy() -> str:
    """What does ``tf.distribute.MirroredStrategy`` do?

    What does ``tf.distribute.MirroredStrategy`` do with a Keras model on a machine with
    several GPUs?

    a) It trains asynchronously: each GPU updates variables kept on parameter servers whenever
       its gradient is ready
    b) Synchronous data parallelism: a copy of every variable on each GPU, each GPU takes a
       slice of the batch, and an all-reduce combines the gradients so the copies stay identical
    c) Model parallelism: it splits the model's layers across the GPUs, so that a larger model
       fits in memory
    d) It mirrors the model to a second machine, which takes over if the first one fails

    Answer with one letter.
    """
    return "b"


def q07_per_replica_batch() -> str:
    """How many examples does each replica process per step?

    You train with ``tf.distribute.MirroredStrategy`` on one machine with 4 GPUs. The
    ``tf.data`` pipeline ends with ``.batch(256)``, and you distribute it with
    ``strategy.experimental_distribute_dataset`` (``model.fit`` does the same for you). How
    many examples does each replica (GPU) process per step? Answer with a number.
    """
    return "64"


def q08_model_does_not_fit() -> str:
    """Which parallelism helps when the weights do not fit on one GPU?

    A model's weights are larger than one GPU's memory, and you have 8 GPUs. Which kind of
    parallelism lets you run it?

    a) Data parallelism: a replica of the model on each GPU, each processing part of every batch
    b) Model parallelism: split the weights across the GPUs, by groups of layers (pipeline) or
       within each layer (tensor parallelism)
    c) A larger batch size, so that each GPU's memory is used more efficiently
    d) More CPU threads for the input pipeline, so that the GPUs never wait for data

    Answer with one letter.
    """
    return "b"


def q09_intra_op_threads() -> str:
    """What does the intra-op thread setting control?

    ``tf.config.threading`` has ``set_intra_op_parallelism_threads`` and
    ``set_inter_op_parallelism_threads``. What does the INTRA-op setting control on a CPU?

    a) How many independent operations of the graph may run at the same time
    b) How many GPUs TensorFlow may place operations on
    c) How many requests a TensorFlow Serving process accepts concurrently
    d) How many threads one operation, such as a large matrix multiply, may split its work
       across

    Answer with one letter.
    """
    return "d"


def q10_serving_on_four_gpus() -> str:
    """How do you lay out a model on 4 GPUs for maximum throughput?

    An inference service runs on one machine with 4 GPUs. Its model fits comfortably on one GPU,
    and the goal is the most requests per second at an acceptable latency. What is the usual
    layout?

    a) Split every layer across the 4 GPUs (tensor parallelism) and send each request through
       all of them
    b) Use one GPU and keep the other three idle, to avoid contention
    c) A full copy of the model on each GPU, with the requests (or batches of them) spread
       across the copies
    d) Put a quarter of the layers on each GPU and send requests through them one at a time

    Answer with one letter.
    """
    return "c"


# ---- the answer key's explanations (the tests hold them encrypted) ---------------------------

EXPLANATIONS = {
    "q01_gpu_slower_for_tiny_model": (
        "A GPU call has fixed costs: moving data over PCIe, launching kernels (microseconds each), "
        "synchronising. A tiny model at batch size 1 has too little arithmetic to hide them, so the "
        "CPU, which pays none of them, can win. The GPU pays off when work is large and parallel: big "
        "matrix multiplies, big batches, many requests batched together."
    ),
    "q02_timing_gpu_work": (
        "PyTorch queues CUDA kernels and returns at once; the CPU only waits when it needs a result "
        "(.item(), .cpu(), printing) or synchronises. Timing around an unsynchronised call measures "
        "the launch. Warm up (the first calls pay for initialisation), synchronise before both clock "
        "reads, and take the minimum or median of several runs; CUDA events measure on the GPU itself."
    ),
    "q03_what_a_tpu_is": (
        "TPUs are Google's own chips (ASICs), built around matrix units (systolic arrays) that multiply "
        "large matrices in bfloat16. Programs reach them through XLA, which compiles a whole graph for "
        "fixed shapes; a new shape means a new compilation, so inference code pads to a few fixed batch "
        "sizes and sequence lengths. They run no CUDA."
    ),
    "q04_bfloat16_exponent_bits": (
        "bfloat16 is float32 with the low 16 bits dropped: 1 sign bit, 8 exponent bits (like float32, "
        "so the same range, up to about 3.4e38) and 7 stored mantissa bits (about 2-3 significant "
        "digits). float16 has 5 exponent bits and 10 mantissa bits: more precise, but it overflows "
        "above 65504, hence loss scaling."
    ),
    "q05_decoding_is_memory_bound": (
        "At batch size 1, each generated token reads every weight once (gigabytes) and does about two "
        "operations per weight, far below what the GPU could compute per byte it reads: the step is "
        "memory-bandwidth bound. Batching sequences reuses each weight read for every sequence, so the "
        "tokens per second rise nearly in proportion until arithmetic or the KV cache's memory limits "
        "it; servers batch continuously for that reason."
    ),
    "q06_mirrored_strategy": (
        "MirroredStrategy is synchronous data parallelism on one machine: variables are mirrored on "
        "every device, each replica computes gradients on its slice of the global batch, an all-reduce "
        "sums them, and every replica applies the same update. MultiWorkerMirroredStrategy does the "
        "same across machines; ParameterServerStrategy is the asynchronous one."
    ),
    "q07_per_replica_batch": (
        "Under a tf.distribute strategy, the batch size of the dataset is the GLOBAL batch: it is split "
        "across the replicas, so 256 over 4 GPUs is 64 per replica per step. To keep 256 per GPU, batch "
        "the dataset with 256 * strategy.num_replicas_in_sync (and scale the learning rate with care)."
    ),
    "q08_model_does_not_fit": (
        "Data parallelism copies the WHOLE model to each device, so it needs the memory you lack. Model "
        "parallelism splits the weights: pipeline parallelism places consecutive layers on different "
        "devices (and fills the pipeline with micro-batches), tensor parallelism splits each layer's "
        "matrices and exchanges partial results between devices at every layer. Quantizing the weights "
        "is the other way to make them fit."
    ),
    "q09_intra_op_threads": (
        "Intra-op parallelism is WITHIN one op: a large matmul or convolution splits its work across "
        "that many threads. Inter-op parallelism is BETWEEN ops: how many independent ops of the graph "
        "may run at once. On a shared CPU, capping both (and running several model processes) keeps "
        "threads from oversubscribing the cores."
    ),
    "q10_serving_on_four_gpus": (
        "When a model fits on one GPU, replicas scale throughput almost linearly: each GPU serves its "
        "own stream of (batched) requests, with no communication between them. Splitting a model that "
        "fits adds communication to every layer or a pipeline to keep full; that is worth it only when "
        "the model does not fit or a single request's latency must drop."
    ),
}
