"""Quiz: TensorFlow, its neighbours and its history (TF 1.x and 2.x, Estimators, Keras 3).

Each function below is one question; its docstring asks it. Answer by replacing
``raise NotImplementedError`` with ``return`` and your answer:

- lettered choices: the letter of the one right choice, ``return "b"``;
- "answer with every letter that applies": all the right letters, ``return "ac"``;
- a question that asks for a number: ``return "3"`` (``return 3`` and fractions such as
  ``"3/4"`` work too);
- a question that asks for a name: the name, ``return "keepdim"`` (case, spaces and
  punctuation do not matter).

The facts are those of TensorFlow 2.21, where ``tf.keras`` is Keras 3, and of PyTorch 2.

Check your answers with ``pytest tests/test_quiz_frameworks.py``. The tests keep the right
answers locked (as salted hashes), so reading them tells you nothing. A right answer passes
and unlocks a short explanation, printed under "unlocked explanations" at the end of the run
(``python -m katakit.quiz explain quiz_frameworks`` shows every one you have unlocked). A wrong
answer fails, with a specific message when it is a common misconception.

Example:
    A question "Which axis does ``torch.sum(a, 0)`` remove from a 2-D tensor? a) the first
    (the rows are added together) b) the last" is answered by writing ``return "a"`` in place
    of ``raise NotImplementedError``.
"""


def q01_keras3_backends() -> str:
    """Which backends can Keras 3 run a model on?

    In TensorFlow 2.21, ``tf.keras`` is Keras 3. Which list contains ONLY backends that
    Keras 3 supports (the list need not be complete)?

    a) TensorFlow, Theano and CNTK
    b) JAX, TensorFlow and PyTorch
    c) TensorFlow, MXNet and Caffe2
    d) TensorFlow Lite, TensorFlow.js and TensorFlow Serving

    Answer with one letter.
    """
    return "b"


def q02_define_by_run() -> str:
    """What does "define-by-run" mean?

    PyTorch (like TensorFlow 2 in eager mode) is called "define-by-run". What does that mean
    for the code you write?

    a) The whole model is declared as a static graph and compiled before the first forward pass,
       then reused unchanged for every input
    b) Operations are recorded as Python executes them, so each forward pass may take a
       different path and a debugger shows real values
    c) Gradients are computed numerically, by running the model twice with slightly different
       inputs
    d) Models must be defined inside a ``with torch.no_grad():`` block, so that no graph is
       recorded

    Answer with one letter.
    """
    return "b"


def q03_tf2_default_execution() -> str:
    """What is ``y`` after ``y = tf.matmul(a, b)`` in a TF 2 script?

    At the top level of a TensorFlow 2.21 script (not inside a ``tf.function``), with ``a``
    and ``b`` two small float32 tensors, you run ``y = tf.matmul(a, b)``. What is ``y``?

    a) A symbolic tensor with no value yet: you need a ``tf.compat.v1.Session`` and
       ``sess.run(y)`` to compute it
    b) A tensor that already holds the product: TensorFlow 2 executes operations eagerly by
       default, and ``y.numpy()`` returns the values
    c) A placeholder that is filled in by the next call of ``model.fit``
    d) ``None`` until the code is wrapped in ``tf.function``

    Answer with one letter.
    """
    return "b"


def q04_session_replacement() -> str:
    """How do you port ``sess.run(outputs, feed_dict=...)`` to TF 2 style?

    A TensorFlow 1.x inference script builds a graph on ``tf.placeholder`` inputs, then calls
    ``sess.run(outputs, feed_dict={x: batch})`` for every batch. What is the idiomatic
    TensorFlow 2 replacement?

    a) Keep the code and import ``Session`` and ``placeholder`` from ``tf.compat.v1``: that is
       how TensorFlow 2 runs graphs
    b) A Python function that takes the inputs as arguments, decorated with ``tf.function`` and
       called directly
    c) ``tf.estimator.Estimator.predict``, with an ``input_fn`` that yields the batches one by
       one
    d) ``sess.run`` wrapped in ``tf.py_function``, so that the session runs eagerly inside
       TensorFlow 2

    Answer with one letter.
    """
    return "b"


def q05_retracing_count() -> str:
    """How many times is this ``tf.function`` traced?

    In TensorFlow 2.21, with default ``tf.function`` settings::

        @tf.function
        def double(x):
            return x * 2

        double(1)
        double(2)
        double(tf.constant(1))
        double(tf.constant(2))
        double(tf.constant(3))

    How many times does TensorFlow trace the Python body of ``double`` (the count that
    ``double.experimental_get_tracing_count()`` returns afterwards)? Answer with a number.
    """
    return "3"


def q06_print_inside_tf_function() -> str:
    """What does this ``tf.function`` print?

    In TensorFlow 2.21::

        @tf.function
        def step(x):
            print("python print")
            tf.print("tf print")
            return x + 1

        step(tf.constant(1))
        step(tf.constant(2))
        step(tf.constant(3))

    What appears on the output?

    a) "python print" and "tf print" three times each
    b) "python print" once, "tf print" three times
    c) "python print" three times, "tf print" once
    d) Nothing: output is suppressed inside a tf.function

    Answer with one letter.
    """
    return "b"


def q07_sharing_weights() -> str:
    """How do two parts of a Keras model share weights?

    In TensorFlow 1.x, two parts of a model shared weights through
    ``tf.variable_scope(..., reuse=True)`` and ``tf.get_variable``. A Keras 3 functional model
    (TensorFlow 2.21) needs two branches that apply the SAME dense weights to two different
    inputs. How is that done?

    a) Create one ``Dense`` layer object and call it on both inputs
    b) Create two ``Dense`` layers with the same ``name=`` argument
    c) Create the layers inside ``tf.compat.v1.variable_scope("shared", reuse=True)``
    d) Create two layers and copy the weights of the first into the second after every
       training step

    Answer with one letter.
    """
    return "a"


def q08_estimator_in_tf221() -> str:
    """What happens to Estimator code in TensorFlow 2.21?

    A legacy training script builds a ``tf.estimator.DNNClassifier`` and calls its ``train``
    and ``predict`` methods. It last ran with TensorFlow 2.12. What happens when you run it,
    unchanged, with TensorFlow 2.21?

    a) It runs as before, printing a deprecation warning for each Estimator method it calls
    b) It stops with an AttributeError: TensorFlow 2.16 removed the ``tf.estimator`` API
    c) It runs, but only on the CPU, since Estimators never supported GPUs in TensorFlow 2
    d) TensorFlow converts the Estimator into an equivalent Keras model and trains that instead

    Answer with one letter.
    """
    return "b"


def q09_what_an_estimator_was() -> str:
    """What did a ``tf.estimator.Estimator`` do for you?

    Estimators were TensorFlow's high-level API of the 1.x era (``tf.estimator``, with premade
    ones such as ``DNNClassifier`` and ``LinearRegressor``). What did an Estimator provide?

    a) A harness around a ``model_fn`` and ``input_fn``s that ran training, evaluation,
       prediction and export, handling sessions and checkpoints
    b) A service that searched hyperparameters for any model and returned the best configuration
    c) A statistical estimate of a model's test accuracy, computed from its weights without any
       data
    d) A converter that shrank models for mobile devices by estimating which weights matter

    Answer with one letter.
    """
    return "a"


def q10_replacing_estimators() -> str:
    """What replaces an Estimator pipeline in TensorFlow 2.21?

    You migrate a pipeline that used an Estimator for training, multi-GPU training and export
    for serving, to TensorFlow 2.21. What replaces it?

    a) ``tf.compat.v1.estimator``, which TensorFlow 2.21 keeps so that Estimator pipelines can
       migrate slowly
    b) Keras ``fit``/``evaluate``/``predict`` (or a custom loop), a ``tf.distribute`` strategy,
       and ``model.export`` for serving
    c) ``tf.contrib.learn``, the library Estimators grew out of, which still ships with
       TensorFlow
    d) TensorFlow Lite, which took over the Estimators' training and export features in
       TensorFlow 2

    Answer with one letter.
    """
    return "b"


def q11_serving_model_versions() -> str:
    """Which model version does TensorFlow Serving serve?

    TensorFlow Serving watches a model's base path that holds three numbered subdirectories,
    ``1/``, ``2/`` and ``3/``, each a complete SavedModel. It runs with the default model
    version policy. Which version answers requests?

    a) All three at once, with requests spread evenly across the versions for load balancing
    b) Version 3, the highest number; a new ``4/`` is loaded and takes over without a restart
    c) Version 1, the first one loaded, until the server is restarted with a new configuration
    d) Whichever version directory was modified most recently, according to file timestamps

    Answer with one letter.
    """
    return "b"


def q12_deployment_ecosystem() -> str:
    """Which of these deploy TensorFlow models?

    Which of these are parts of the TensorFlow ecosystem for RUNNING a trained model where it
    is used (serving predictions), rather than for building or inspecting it? Answer with
    every letter that applies (for example "ac").

    a) TensorFlow Serving, a server for SavedModels behind gRPC and REST endpoints
    b) TensorFlow Lite (now LiteRT), a runtime for phones and embedded devices
    c) TensorFlow.js, which runs models in a web browser or in Node.js
    d) TensorBoard, the web dashboard for training curves, graphs and profiles
    """
    return "abc"


def q13_one_trace_argument() -> str:
    """Which ``tf.function`` argument fixes the accepted inputs?

    A ``tf.function`` that receives tensors of a new shape or dtype traces a new graph. Which
    argument of ``tf.function`` declares, as a list of ``tf.TensorSpec``, the shapes
    (``None`` for a dimension that may vary) and dtypes the function accepts, so that a single
    trace serves every call and the function can be exported with a fixed signature? Answer
    with the argument's name.
    """
    return "input_signature"


# ---- answers that are equally right, besides the one each function returns --------------------

ALSO_ACCEPTED = {
    # The argument's name, written as part of the call it belongs to.
    "q13_one_trace_argument": ("tf function input signature",),
}

# ---- the answer key's explanations (the tests hold them encrypted) ---------------------------

EXPLANATIONS = {
    "q01_keras3_backends": (
        "Keras 3 is multi-backend again: the same model code runs on JAX, TensorFlow or PyTorch, "
        "chosen with the KERAS_BACKEND environment variable (numpy and OpenVINO exist for inference "
        "only). Theano and CNTK were Keras 2 backends, dropped in 2020. Since TensorFlow 2.16, tf.keras "
        "is Keras 3; code that needs Keras 2 installs tf-keras and sets TF_USE_LEGACY_KERAS=1."
    ),
    "q02_define_by_run": (
        "Define-by-run builds the computation as the Python code runs: every forward pass records "
        "the operations it actually performed (autograd uses that record for the backward pass). "
        "Control flow is plain Python, and values can be printed or inspected in a debugger. The "
        "static alternative, define-and-run, was TensorFlow 1.x: build a graph first, then execute it "
        "in a session."
    ),
    "q03_tf2_default_execution": (
        "TensorFlow 2 executes eagerly by default: every operation runs when Python reaches it and "
        "returns a concrete EagerTensor, so y.numpy() works at once. Graphs still exist, but you get "
        "them by wrapping a function in tf.function, not by building them by hand and running them in "
        "a Session."
    ),
    "q04_session_replacement": (
        "In TensorFlow 2, 'functions, not sessions': the placeholders become the arguments of a Python "
        "function, sess.run becomes a call of that function, and tf.function traces it into a graph for "
        "speed. An input_signature fixes the accepted shapes and dtypes, which is what a SavedModel "
        "serving signature needs. tf.compat.v1 exists to run old code during a migration, not as the "
        "TF 2 style."
    ),
    "q05_retracing_count": (
        "A tf.function keeps one concrete function per input signature. Python numbers are part of "
        "the signature by value, so double(1) and double(2) trace twice. Tensors count by dtype and "
        "shape only, so the three scalar int32 constants share one trace: 3 traces in all. This is why "
        "loop counters and other changing values should be passed as tensors."
    ),
    "q06_print_inside_tf_function": (
        "Python code in a tf.function runs only while TensorFlow traces it; the graph that comes out "
        "contains TensorFlow operations only. The three calls share one trace (same dtype and shape), so "
        "Python's print runs once, during tracing. tf.print is an operation in the graph, so it runs "
        "on every call: three times."
    ),
    "q07_sharing_weights": (
        "In TensorFlow 2 a variable belongs to the Python object that created it, so sharing weights "
        "means reusing the object: call the same layer on both inputs and both branches use, and train, "
        "one kernel and one bias. Layer names are only labels (Keras 3 even rejects two layers with the "
        "same name in one model), and variable scopes are TF 1.x machinery."
    ),
    "q08_estimator_in_tf221": (
        "tf.estimator was deprecated for several releases and removed in TensorFlow 2.16, so in 2.21 "
        "the attribute does not exist and the script stops with AttributeError: module 'tensorflow' has "
        "no attribute 'estimator'. The choices are to pin TensorFlow 2.15 or earlier, or to migrate to "
        "Keras."
    ),
    "q09_what_an_estimator_was": (
        "An Estimator wrapped a model_fn (the model, its loss and its training op, for the TRAIN, EVAL "
        "and PREDICT modes) with input_fns that fed it data, and ran the loops for you: it built the "
        "graph, opened the session, wrote checkpoints and summaries, distributed training and exported "
        "SavedModels for serving. Premade Estimators packaged common models."
    ),
    "q10_replacing_estimators": (
        "Each job an Estimator did has a TensorFlow 2 home: Keras Model.fit/evaluate/predict (or a "
        "custom loop with tf.GradientTape and tf.function) for the loops, tf.distribute strategies for "
        "several devices or machines, tf.data for input, and model.export or tf.saved_model.save for a "
        "SavedModel to serve. tf.estimator, in tf.compat.v1 too, is gone since 2.16, and tf.contrib "
        "was removed in TensorFlow 2.0."
    ),
    "q11_serving_model_versions": (
        "TensorFlow Serving's default version policy serves the latest version, meaning the highest "
        "version number under the base path. It polls the file system, so copying a complete SavedModel "
        "into 4/ makes it load version 4 and then unload version 3, with no restart; a rollback is "
        "removing 4/ or pinning a version in the model config."
    ),
    "q12_deployment_ecosystem": (
        "Serving (servers, with model versioning), TensorFlow Lite, now called LiteRT (phones, "
        "microcontrollers), and TensorFlow.js (browsers and Node.js) each run trained models where "
        "predictions are needed. TensorBoard is for understanding models: training curves, graphs, "
        "profiles, embeddings; it serves no predictions."
    ),
    "q13_one_trace_argument": (
        "tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32)]) accepts any batch of "
        "16-feature float32 rows with one trace, raises on anything else, and gives the function the "
        "fixed signature that tf.saved_model.save and TensorFlow Serving need."
    ),
}
