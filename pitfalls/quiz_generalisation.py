"""Common misconceptions for quiz_generalisation, and right answers written differently.

Each pitfall's diagnosis is also the message a learner who gives that answer sees.
"""

from katakit.pitfalls import alternative, pitfall


@pitfall("q01_overfitting_curves",
         "Both losses high is underfitting: the model has not learned enough, not too much.")
def high_losses_are_overfitting():
    return "b"


@pitfall("q01_overfitting_curves",
         "A validation loss a little below the training loss usually comes from regularisation active only in "
         "training (dropout); overfitting is validation rising while training falls.")
def low_validation_is_overfitting():
    return "d"


@pitfall("q03_dropout_at_inference",
         "Dropout is switched off at inference (training=False); random zeroing there would make predictions "
         "noisy and non-deterministic.")
def dropout_stays_on():
    return "a"


@pitfall("q03_dropout_at_inference",
         "Keras uses inverted dropout: the kept units are scaled by 1/(1-rate) during training, so inference "
         "needs no scaling at all.")
def scales_at_inference():
    return "c"


@pitfall("q05_early_stopping_epoch",
         "Epoch 3 stops being the best at epoch 5 (0.64 < 0.65), and the wait counter resets there.")
def stops_counting_at_first_rise():
    return "3"


@pitfall("q05_early_stopping_epoch",
         "Training stops after epoch 7, but restore_best_weights goes back to the best epoch's weights.")
def keeps_last_weights():
    return "7"


@pitfall("q06_tuning_on_the_test_set",
         "Choosing among 200 settings by their test scores uses the test set for selection; the best score is "
         "biased upwards.")
def test_score_still_unbiased():
    return "b"


@pitfall("q07_kmeans_inference",
         "Inference uses the fitted centroids; refitting per request is slow and may move or renumber every "
         "cluster.")
def refit_per_request():
    return "a"


@pitfall("q08_cluster_ids_after_retraining",
         "k-means numbers clusters arbitrarily (by its random start), so nothing keeps a cluster's number "
         "across refits.")
def stable_numbering():
    return "b"


@pitfall("q09_next_token_pretraining",
         "No annotator writes the targets: each target is the next token of the same text, so the data labels "
         "itself (self-supervised).")
def thinks_human_labels():
    return "a"


# ---- right answers written differently: the tests must accept every one of them ---------------

@alternative("q05_early_stopping_epoch", "The epoch number as an int.")
def epoch_as_int():
    return 5


@alternative("q01_overfitting_curves", "The letter followed by the start of the choice's text.")
def letter_with_text():
    return "c) The training loss keeps falling"


@alternative("q09_next_token_pretraining", "The capital letter with spaces around it.")
def capital_with_spaces():
    return "  B "
