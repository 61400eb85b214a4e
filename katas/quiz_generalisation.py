"""Quiz: overfitting, and supervised versus unsupervised models at inference time.

Each function below is one question; its docstring asks it. Answer by replacing
``raise NotImplementedError`` with ``return`` and your answer:

- lettered choices: the letter of the one right choice, ``return "b"``;
- a question that asks for a number: ``return "3"`` (``return 3`` and fractions such as
  ``"3/4"`` work too).

Check your answers with ``pytest tests/test_quiz_generalisation.py``. The tests keep the
right answers locked (as salted hashes), so reading them tells you nothing. A right answer
passes and unlocks a short explanation, printed under "unlocked explanations" at the end of
the run (``python -m katakit.quiz explain quiz_generalisation`` shows every one you have
unlocked). A wrong answer fails, with a specific message when it is a common misconception.

Example:
    A question "Which data set should choose a model's hyperparameters? a) the test set
    b) a validation set" is answered by writing ``return "b"`` in place of
    ``raise NotImplementedError``.
"""


def q01_overfitting_curves() -> str:
    """Which learning curves show overfitting?

    You plot a model's loss on the training set and on a held-out validation set after every
    epoch. Which pattern shows overfitting?

    a) Both losses fall together, epoch after epoch, and level off close to each other
    b) Both losses stay high from start to finish and barely change after the first epoch
    c) The training loss keeps falling while the validation loss reaches a minimum and then
       rises
    d) The validation loss stays slightly below the training loss throughout

    Answer with one letter.
    """
    raise NotImplementedError


def q02_overfitting_at_inference() -> str:
    """How does an overfit model behave at inference time?

    A classifier has overfit its training data. What do you expect from it at inference time,
    on new inputs drawn from the same population as the training data?

    a) The same accuracy as on its training data, but slower, because an overfit model is larger
    b) It raises an error for any input that does not appear in its training data
    c) Random outputs, because overfitting erases what the model learned earlier in training
    d) Clearly higher error than on its training data, often with confident wrong predictions

    Answer with one letter.
    """
    raise NotImplementedError


def q03_dropout_at_inference() -> str:
    """What does a Dropout layer do at inference?

    A Keras 3 model contains ``Dropout(0.5)`` layers. What do those layers do when you call
    ``model.predict(x)`` or ``model(x, training=False)``?

    a) They still zero half of the units at random, so that the model keeps regularising itself
    b) Nothing: they pass their inputs through unchanged (the kept units were scaled up during
       training instead)
    c) They zero no units but multiply every output by 0.5, to match the training-time average
    d) They raise an error: Dropout layers must be removed from a model before inference

    Answer with one letter.
    """
    raise NotImplementedError


def q04_leakage() -> str:
    """Why was the validation score too good?

    A model reaches 99% accuracy on its validation set but only 70% in production. You find
    that the feature scaler was fit on the whole data set before it was split, and that the
    same customers, with near-identical rows, appear in both the training and the validation
    set. What is the problem?

    a) Production servers compute in a different precision from the training machine, which
       costs accuracy
    b) Data leakage: information from the validation data reached training, so the validation
       score is too optimistic
    c) Normal random variation: any two samples of data give accuracies that differ this much
    d) Underfitting: the model is too simple to capture the patterns of the production data

    Answer with one letter.
    """
    raise NotImplementedError


def q05_early_stopping_epoch() -> str:
    """Which epoch's weights does early stopping restore?

    Training reports these validation losses, epoch 1 first:
    0.90, 0.70, 0.65, 0.66, 0.64, 0.67, 0.68, 0.69.
    Early stopping monitors the validation loss with patience 2 and min_delta 0 (an epoch
    counts as an improvement when its loss is strictly lower than the best so far), and
    restores the best weights when it stops, as ``keras.callbacks.EarlyStopping(patience=2,
    restore_best_weights=True)`` does. The weights of which epoch does the final model have?
    Answer with the epoch's number.
    """
    raise NotImplementedError


def q06_tuning_on_the_test_set() -> str:
    """What is wrong with tuning on the test set?

    A team tries 200 hyperparameter settings, keeps the one with the best score on the test set,
    and reports that score as the model's expected performance. What is the problem?

    a) 200 settings are too few to find a good model; a thousand would make the score reliable
    b) Nothing: the test set is never used for training, so its score stays unbiased
    c) The test set chose the model, so its score is optimistically biased; choose on validation
       data and test once at the end
    d) The score is pessimistic, because one test set is too small to show the best model's
       strength

    Answer with one letter.
    """
    raise NotImplementedError


def q07_kmeans_inference() -> str:
    """How does a fitted k-means model handle a new point?

    A k-means model with 5 clusters was fit on customer data. At inference time, how is a new
    customer assigned to a segment?

    a) k-means is refit on all the data plus the new customer, and the customer gets the
       cluster it lands in
    b) It is assigned to a random cluster, weighted by cluster size
    c) It is assigned to the cluster whose centroid is nearest, using the fitted centroids
    d) An annotator labels the customer, and the model checks the label

    Answer with one letter.
    """
    raise NotImplementedError


def q08_cluster_ids_after_retraining() -> str:
    """Why did a dashboard break when the clustering model was retrained?

    A dashboard shows "premium customers" as the customers in cluster 3 of a k-means model.
    After the model is refit on next month's data, cluster 3 holds a different kind of
    customer. Why is that expected?

    a) Cluster numbers are arbitrary: a refit can find the same groups in another order, so they
       must be matched to their meaning again
    b) The refit must have a bug: k-means always keeps the numbering of its clusters stable
       across refits
    c) Refitting moves every customer into a different cluster, at random, by design
    d) k-means numbers its clusters by size, and the premium segment grew past the others this
       month

    Answer with one letter.
    """
    raise NotImplementedError


def q09_next_token_pretraining() -> str:
    """What kind of learning is next-token pretraining?

    A GPT-style language model is pretrained to predict each next token of a large collection
    of web text, with no human annotation. How is that training best described?

    a) Supervised learning on next-token labels written by human annotators
    b) Self-supervised learning: the targets come from the text itself, shifted by one token
    c) Reinforcement learning, with a reward for each correctly predicted token
    d) Clustering of the documents by topic, with one cluster per token

    Answer with one letter.
    """
    raise NotImplementedError


def q10_judging_models_in_production() -> str:
    """How do you judge supervised and unsupervised models in production?

    Which statement about judging a model's quality after deployment is right?

    a) Both kinds are scored by accuracy against true labels, in exactly the same way and at the
       same time
    b) Unsupervised models cannot be used at inference time, since there is nothing to compare
       their outputs with
    c) Supervised models need no monitoring once their test accuracy is known, since it cannot
       change
    d) Supervised predictions can be scored once the true labels arrive (often late);
       unsupervised outputs have no labels and are judged by proxies

    Answer with one letter.
    """
    raise NotImplementedError


def q11_autoencoder_anomalies() -> str:
    """How does an autoencoder flag anomalies at inference?

    An autoencoder was trained, without labels, to reconstruct normal card transactions. How
    does it flag a suspicious transaction at inference time?

    a) It outputs the probability of fraud, which it learned from transactions labelled as fraud
    b) A reconstruction error above a threshold chosen on held-out data flags the transaction
    c) It flags every transaction that did not appear in its training data
    d) It flags transactions whose amount is above the mean amount of its training data

    Answer with one letter.
    """
    raise NotImplementedError


# ---- the answer key's explanations (the tests hold them encrypted) ---------------------------
