"""Common misconceptions for quiz_frameworks, and right answers written differently.

Each pitfall's diagnosis is also the message a learner who gives that answer sees.
"""

from katakit.pitfalls import alternative, pitfall


@pitfall("q01_keras3_backends",
         "Theano and CNTK were Keras 2 backends, dropped in 2020; Keras 3 runs on JAX, TensorFlow and PyTorch.")
def keras2_backends():
    return "a"


@pitfall("q02_define_by_run",
         "That is define-and-run, the TensorFlow 1.x model: build a static graph first, then execute it.")
def define_and_run():
    return "a"


@pitfall("q03_tf2_default_execution",
         "That is TensorFlow 1.x graph mode; TensorFlow 2 runs operations eagerly, and Session lives on only "
         "in tf.compat.v1.")
def tf2_needs_a_session():
    return "a"


@pitfall("q04_session_replacement",
         "tf.compat.v1 keeps old graph-and-session code running during a migration; it is not the TensorFlow 2 "
         "style, which calls a (tf.function) Python function instead.")
def compat_v1_is_tf2():
    return "a"


@pitfall("q04_session_replacement",
         "Estimators were removed in TensorFlow 2.16; they never replaced sessions in TF 2 code, functions did.")
def estimator_replaces_session():
    return "c"


@pitfall("q05_retracing_count",
         "Python numbers are part of the trace key by value: double(1) and double(2) each trace a new graph.")
def one_trace_for_everything():
    return "1"


@pitfall("q05_retracing_count",
         "Tensors are matched by dtype and shape, not by value: the three int32 scalar constants share one trace.")
def one_trace_per_call():
    return "5"


@pitfall("q06_print_inside_tf_function",
         "Python's print runs only while the function is traced (once here); tf.print is a graph op that runs "
         "on every call.")
def python_print_every_call():
    return "a"


@pitfall("q07_sharing_weights",
         "A name is only a label: two layer objects always own separate weights (Keras 3 even rejects duplicate "
         "names in one model). Reuse the layer object.")
def same_name_shares():
    return "b"


@pitfall("q07_sharing_weights",
         "variable_scope reuse is TF 1.x machinery for tf.get_variable; in TF 2 a variable belongs to the object "
         "that made it, so reuse the layer object.")
def variable_scope_reuse():
    return "c"


@pitfall("q08_estimator_in_tf221",
         "Deprecation warnings came in earlier releases; TensorFlow 2.16 removed tf.estimator, so 2.21 raises "
         "AttributeError.")
def estimator_only_deprecated():
    return "a"


@pitfall("q10_replacing_estimators",
         "tf.estimator was removed in 2.16 from tf.compat.v1 as well; there is nothing left to import.")
def compat_estimator():
    return "a"


@pitfall("q11_serving_model_versions",
         "Versions are ordered by their number, not by file times: the default policy serves the highest number.")
def newest_by_mtime():
    return "d"


@pitfall("q12_deployment_ecosystem",
         "TensorBoard visualises training runs, graphs and profiles; it serves no predictions.")
def tensorboard_deploys():
    return "abcd"


@pitfall("q12_deployment_ecosystem",
         "TensorFlow.js runs models in browsers and Node.js: it is a deployment target too.")
def forgets_tfjs():
    return "ab"


# ---- right answers written differently: the tests must accept every one of them ---------------

@alternative("q01_keras3_backends", "The letter in capitals and parentheses.")
def capital_letter_in_parentheses():
    return "(B)"


@alternative("q06_print_inside_tf_function", "The letter followed by the choice's text.")
def letter_and_text():
    return "b) python print once, tf print three times"


@alternative("q05_retracing_count", "The count as an int, not a string.")
def count_as_int():
    return 3


@alternative("q12_deployment_ecosystem", "The letters as a list, in another order.")
def letters_as_list():
    return ["c", "a", "b"]


@alternative("q13_one_trace_argument", "The name with a different case and a hyphen.")
def name_with_hyphen():
    return "Input-Signature"


@alternative("q13_one_trace_argument", "The argument's name, written inside the call it belongs to.")
def argument_in_its_call():
    return "tf.function(input_signature=...)"
