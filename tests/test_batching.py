"""Inference batches: grouped by word-piece count, every text exactly once, padded to the batch's longest."""

from __future__ import annotations

from classify.batching import token_sorted_batches, tokenize
from classify.model import load_artifacts
from classify.tagger import ARTIFACTS_DIR

# Character length and word-piece count disagree: the 27-character link is 22 pieces, the 53-character
# English sentence 12, so sorting by characters would order these batches differently.
TEXTS = [
    "https://x.co/a1b2c3d4e5f6g7",
    "This is a fairly long English sentence of plain words",
    "🙂🙃😡🤬💩👎",
    "ok",
    "Mein Paket ist seit zwei Wochen weg!",
    "Zugbegleiterverspätungsentschädigungsantrag",
]


def test_batches_are_grouped_by_word_pieces_and_cover_every_text_once() -> None:
    tokenizer, _network, _config = load_artifacts(ARTIFACTS_DIR, None)
    pieces = [len(row.ids) for row in tokenize(tokenizer, TEXTS, 128)]
    batches = list(token_sorted_batches(tokenizer, TEXTS, 128, batch_size=2))
    seen = [index for indices, _ in batches for index in indices]
    assert sorted(seen) == list(range(len(TEXTS)))
    assert [pieces[i] for i in seen] == sorted(pieces, reverse=True)
    for indices, batch in batches:
        assert batch.input_ids.shape == (len(indices), max(pieces[i] for i in indices))
        assert batch.attention_mask.sum(dim=1).tolist() == [pieces[i] for i in indices]
        assert len(batch.offsets) == len(indices) == len(batch.truncated)


def test_cut_texts_keep_the_closing_separator_and_say_so() -> None:
    tokenizer, _network, _config = load_artifacts(ARTIFACTS_DIR, None)
    [row] = tokenize(tokenizer, ["word " * 300], 16)
    assert len(row.ids) == 16 and row.truncated
    assert row.ids[-1] == tokenizer.sep_token_id


def test_no_texts_give_no_batches() -> None:
    tokenizer, _network, _config = load_artifacts(ARTIFACTS_DIR, None)
    assert list(token_sorted_batches(tokenizer, [], 128, batch_size=64)) == []
