# pytester's in-process runs drop modules first imported during the run; numpy refuses to be
# imported twice in one process, so import it (and Hypothesis) here, before any run.
import hypothesis  # noqa: F401
import numpy  # noqa: F401

pytest_plugins = ["pytester"]
