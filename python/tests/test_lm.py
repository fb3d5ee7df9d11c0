"""The twin's n-gram LM (ctc_lab/lm.py) against the lab's (src/engine/lm/): on the fixture the lab wrote
(src/engine/lm/fixtures/lm_decode.json, by twin_fixture.test.ts) the twin builds the same Kneser-Ney model from
the same transcripts (every n-gram, probability and backoff within 1e-9 of the lab's ARPA), reads the lab's ARPA
and a KenLM-style one and scores sentences as the lab did (within 1e-9), round-trips ARPA exactly, and refuses
malformed files naming the line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ctc_lab.errors import CtcLabError
from ctc_lab.lm import build_kneser_ney, lm_score, perplexity, read_arpa, sentence_log_prob, write_arpa

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "src" / "engine" / "lm" / "fixtures" / "lm_decode.json").read_text())


def grams(m) -> dict[tuple[str, ...], tuple[float, float]]:
    return {tuple(m.vocab[w] for w in m.ngram_words(g)): (m.log_prob[g], m.backoff[g]) for g in range(m.starts[-1])}


def test_builds_the_labs_model_from_the_same_transcripts():
    lab = read_arpa(FIXTURE["lm"]["arpa"])
    twin, info = build_kneser_ney(FIXTURE["lm"]["train"], FIXTURE["lm"]["order"])
    assert twin.vocab == lab.vocab and twin.starts == lab.starts
    a, b = grams(twin), grams(lab)
    assert a.keys() == b.keys()
    for k in b:
        assert a[k][0] == pytest.approx(b[k][0], abs=1e-9), k
        assert a[k][1] == pytest.approx(b[k][1], abs=1e-9), k
    assert info["fallback"] == FIXTURE["lm"]["fallback"]
    for d, e in zip(info["discounts"], FIXTURE["lm"]["discounts"]):
        assert d == pytest.approx(e, abs=1e-12)


@pytest.mark.parametrize("which", ["lm", "kenlm"])
def test_scores_sentences_as_the_lab(which):
    m = read_arpa(FIXTURE[which]["arpa"])
    for q in FIXTURE[which]["queries"]:
        state = m.bos
        ids = [m.word_id(w) for w in q["sentence"]]
        for w, want in zip([*ids, m.eos], q["scores"]):
            got, state = lm_score(m, state, w)
            assert got == pytest.approx(want, abs=1e-9), q["sentence"]
        assert sentence_log_prob(m, ids) == pytest.approx(q["total"], abs=1e-9)


def test_perplexity_as_the_lab():
    m = read_arpa(FIXTURE["lm"]["arpa"])
    p, want = perplexity(m, FIXTURE["lm"]["val"]), FIXTURE["lm"]["perplexity"]
    assert p["perplexity"] == pytest.approx(want["perplexity"], rel=1e-12)
    assert (p["tokens"], p["oov"]) == (want["tokens"], want["oov"])


def test_distributions_sum_to_one():
    m, _ = build_kneser_ney(FIXTURE["lm"]["train"], 3)
    words = [w for w in range(len(m.vocab)) if w != m.bos]
    for state in range(m.starts[m.order - 1]):
        assert abs(sum(10 ** lm_score(m, state, w)[0] for w in words) - 1) < 1e-9


def test_arpa_round_trip_is_exact():
    for order in (2, 3, 4):
        m, _ = build_kneser_ney(FIXTURE["lm"]["train"], order)
        text = write_arpa(m)
        r = read_arpa(text)
        assert r.vocab == m.vocab and r.log_prob == m.log_prob and r.backoff == m.backoff and r.context == m.context
        assert write_arpa(r) == text
    lab = read_arpa(FIXTURE["lm"]["arpa"])
    again = read_arpa(write_arpa(lab))
    assert again.log_prob == lab.log_prob and again.backoff == lab.backoff


KEN = FIXTURE["kenlm"]["arpa"]


@pytest.mark.parametrize("text,message", [
    (KEN.replace("ngram 2=4", "ngram 2=5"), r"line 14: \\2-grams: has 4 entries but \\data\\ says ngram 2=5"),
    (KEN.replace("\\3-grams:", ""), r"line 21: missing section \\3-grams:"),
    (KEN.replace("\\end\\", ""), r"end of file: expected \\end\\"),
    (KEN.replace("-0.3\tred cup", "x\tred cup"), r"line 16: the log10 probability 'x' is not a number"),
    (KEN.replace("-0.1\t<s> red cup", "-0.1\t<s> red </s>"), r"line 21: the 3-gram '<s> red </s>': backoff without a lower order"),
    (KEN.replace("-0.1\t<s> red cup", "-0.1\tcup red cup"), r"line 21: the 3-gram 'cup red cup': its context"),
    (KEN.replace("-0.15\tred cup </s>", "-0.15\tred cup </s>\t-0.2"), r"line 22: a backoff weight on a 3-gram, the highest order"),
])
def test_refuses_malformed_arpa_naming_the_line(text, message):
    with pytest.raises(CtcLabError, match=message):
        read_arpa(text)


def test_lm_command_builds_from_the_training_transcripts(tmp_path, capsys):
    from conftest import make_dataset

    from ctc_lab.__main__ import main
    from ctc_lab.data import open_dataset

    data = make_dataset(tmp_path / "ds", splits=True)
    out = tmp_path / "lm.arpa"
    assert main(["lm", str(data), "-o", str(out), "--order", "2"]) == 0
    train = [s.text.split() for s in open_dataset(str(data)).samples if s.split == "train"]
    want, _ = build_kneser_ney(train, 2)
    got = read_arpa(out.read_text(), str(out))
    assert got.vocab == want.vocab and got.log_prob == want.log_prob and got.backoff == want.backoff
    said = capsys.readouterr().out
    assert "2-gram from 20 train sentences" in said and "val perplexity" in said
    assert main(["lm", str(data), "-o", str(out), "--split", "test"]) == 2
