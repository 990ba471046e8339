"""The content-aware NeuMF: side-feature encoding, the content tower, cold items and fold-in."""

import numpy as np
import pytest
import scipy.sparse as sp

from tests.recsys.helpers import planted, small_neumf
from webapp.recsys.features import MAX_TAGS, FeatureVocabulary, ItemDescription, title_words
from webapp.recsys.serving import NeuMFScorer

pytest.importorskip("tensorflow")

from webapp.recsys.neural import NeuMF  # noqa: E402

GROUP_WORDS = ("dragon", "murder", "love", "star")
GROUP_CATEGORIES = ("Fantasy", "Mystery & Crime", "Romance", "Science Fiction")


def describe(n_items: int, groups: int = 4) -> list[ItemDescription]:
    """Items of planted()'s groups, each group with its own category, tag, author and title word."""
    size = n_items // groups
    return [
        ItemDescription(
            category=GROUP_CATEGORIES[item // size],
            tags=(GROUP_WORDS[item // size], "owned"),
            authors=(f"Author {item // size}",),
            year=1990 + item,
            title=f"The {GROUP_WORDS[item // size]} book {item}",
        )
        for item in range(n_items)
    ]


def test_vocabulary_encodes_known_values_and_maps_unknown_ones_to_zero():
    vocabulary = FeatureVocabulary.learn(describe(8))
    known = vocabulary.encode(
        [
            ItemDescription("Fantasy", ("dragon",) * 9, ("Author 0",), 1999.0, "The dragon book"),
            ItemDescription("Cookery", ("baking",), ("Nobody",), None, "Zucchini zeal"),
        ]
    )
    assert known.category[0] == vocabulary.category["Fantasy"] > 0
    assert known.tags.shape == (2, MAX_TAGS)
    assert list(known.tags[0]) == [vocabulary.tags["dragon"]] * MAX_TAGS  # capped at MAX_TAGS
    assert known.decade[0] == vocabulary.decade["1990s"]
    assert known.title[0, :3].tolist() == [
        vocabulary.title["the"],
        vocabulary.title["dragon"],
        vocabulary.title["book"],
    ]
    # A book whose every value is new still encodes (all zeros): it gets the content tower's "unknown" vector.
    assert known.category[1] == known.decade[1] == 0
    assert not known.tags[1].any() and not known.authors[1].any() and not known.title[1].any()
    assert FeatureVocabulary.from_json(vocabulary.to_json()) == vocabulary


def test_title_words_split_series_brackets():
    assert title_words("Harry Potter and the Sorcerer's Stone (Harry Potter, #1)") == [
        "harry", "potter", "and", "the", "sorcerer", "s", "stone", "harry", "potter", "1",
    ]  # fmt: skip


def hybrid(features, seed: int = 5, epochs: int = 20, **options) -> NeuMF:
    return small_neumf(epochs=epochs, negatives=3, user_history=True, item_features=features, seed=seed, **options)


@pytest.fixture(scope="module")
def trained():
    """A hybrid NeuMF on planted groups, with the last item of group 0 never touched by anyone."""
    matrix = planted().tolil()
    cold_item = 14
    matrix[:, cold_item] = 0
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    features = FeatureVocabulary.learn(describe(60)).encode(describe(60))
    return hybrid(features, keep_network=True).fit(matrix), matrix, cold_item


def test_scores_match_keras_predictions_with_content_and_history(trained):
    model, matrix, _cold = trained
    n_users, n_items = matrix.shape
    left_out = matrix.indptr[:-1]  # each user's first item, by its position in the history
    inputs = {
        "user": np.repeat(np.arange(n_users), n_items).astype(np.int32),
        "item": np.tile(np.arange(n_items), n_users).astype(np.int32),
        "left_out": np.repeat(left_out, n_items).astype(np.int32),
    }
    keras_probabilities = model.model.predict(inputs, verbose=0).reshape(n_users, n_items)
    histories = [matrix.indices[matrix.indptr[user] + 1 : matrix.indptr[user + 1]] for user in range(n_users)]
    logits = model.scorer.logits(*model.scorer.user_vectors(histories, model.gmf_user_id, model.mlp_user_id))
    # The untouched item's id embedding is dropped after training (it learned nothing): compare the rest.
    touched = np.ones(n_items, dtype=bool)
    touched[_cold] = False
    np.testing.assert_allclose(
        1 / (1 + np.exp(-logits[:, touched])), keras_probabilities[:, touched], rtol=1e-4, atol=1e-5
    )


def test_a_book_nobody_touched_is_scored_from_its_content(trained):
    """The cold item shares group 0's category, tags, author and title word: group 0 readers rank it high."""
    model, matrix, cold_item = trained
    scores = model.score(np.arange(matrix.shape[0]))
    ranks = (scores > scores[:, [cold_item]]).sum(axis=1)
    group_zero = np.arange(matrix.shape[0]) % 4 == 0
    assert np.median(ranks[group_zero]) < 15  # among its own group's 15 books
    assert np.median(ranks[~group_zero]) > 20


def test_fold_in_gives_the_same_scores_as_the_trained_model(trained):
    """A reader's vectors rebuilt from the stored tables and their history score exactly as score() does."""
    model, matrix, _cold = trained
    scorer = NeuMFScorer.from_bytes(model.scorer.to_bytes())  # as the web process reads it back
    for user in (0, 7, 33):
        history = [matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]]]
        gmf, mlp = scorer.user_vectors(history, model.gmf_user_id[user], model.mlp_user_id[user])
        np.testing.assert_allclose(scorer.score(gmf, mlp)[0], model.score(np.array([user]))[0], rtol=1e-5, atol=1e-5)


def test_a_new_reader_with_three_books_gets_their_group(trained):
    """Fold-in with no id embedding: three group-2 books in the history put group 2 on top."""
    model, _matrix, _cold = trained
    gmf, mlp = model.scorer.user_vectors([np.array([30, 31, 32])])
    scores = model.scorer.score(gmf, mlp)[0]
    scores[[30, 31, 32]] = -np.inf
    top = np.argsort(-scores)[:10]
    assert np.mean((top >= 30) & (top < 45)) >= 0.8


def test_dismissed_pairs_are_learned_as_negatives():
    matrix = planted()
    dismissed = sp.csr_matrix(
        (np.ones(30, dtype=np.float32), (np.arange(0, 120, 4), np.full(30, 3))), shape=matrix.shape
    )
    dismissed = (dismissed - dismissed.multiply(matrix)).tocsr()  # never a pair the reader also liked
    dismissed.eliminate_zeros()
    features = FeatureVocabulary.learn(describe(60)).encode(describe(60))
    plain = hybrid(features, seed=3).fit(matrix).score(np.arange(0, 120, 4))[:, 3]
    told = hybrid(features, seed=3).fit(matrix, dismissed=dismissed).score(np.arange(0, 120, 4))[:, 3]
    assert np.mean(told[dismissed[::4].toarray()[:, 3] > 0]) < np.mean(plain[dismissed[::4].toarray()[:, 3] > 0])


def test_a_reader_with_no_history_is_placed_by_their_demographics():
    from webapp.recsys.features import UserFeatures

    matrix = planted(n_users=120).tolil()
    newcomers = np.arange(100, 120)  # their group is planted as for everyone (user % 4), their rows emptied
    for user in newcomers:
        matrix.rows[user], matrix.data[user] = [], []
    demographics = UserFeatures.encode(("occupation",), [(f"job {user % 4}",) for user in range(120)])
    model = small_neumf(user_history=True, user_features=demographics).fit(sp.csr_matrix(matrix))
    top, _ = model.recommend(newcomers, k=10)
    in_own_group = (top // 15) == (newcomers % 4)[:, None]  # planted(): group g holds items 15g .. 15g + 14
    assert in_own_group.mean() > 0.8  # chance is 0.25
