"""The twin's LM-fused prefix beam search and α/β tuning (ctc_lab/decode.py) against the lab's
(src/engine/decode/lm_beam.ts, tune_lm.ts) on the fixture the lab wrote (src/engine/lm/fixtures/lm_decode.json):
the same hypotheses for a word vocabulary under four settings and a character vocabulary with and without a
constraining lexicon, scores within 1e-9, the same tuned α, β and WER surface; and `python -m ctc_lab decode`
over an output set writes those hypotheses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ctc_lab.__main__ import main
from ctc_lab.decode import Fusion, lexicon_from_model, lm_beam_search, tune_alpha_beta, word_fusion
from ctc_lab.lm import read_arpa
from ctc_lab.metrics import wer

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "src" / "engine" / "lm" / "fixtures" / "lm_decode.json").read_text())
LM = read_arpa(FIXTURE["lm"]["arpa"])
OPTS = {"beamWidth": "beam_width", "prune": "prune", "alpha": "alpha", "beta": "beta"}


def check(got: dict, want: dict):
    assert got["ids"] == want["ids"]
    assert got["feasible"] == want["feasible"]
    assert got["words"] == want["words"]
    for k, j in (("score", "score"), ("ctc_log_prob", "ctcLogProb"), ("lm_log_prob", "lmLogProb")):
        assert got[k] == pytest.approx(want[j], abs=1e-9)


@pytest.mark.parametrize("case", range(len(FIXTURE["words"]["cases"])))
def test_word_vocabulary_hypotheses_equal_the_labs(case):
    w = FIXTURE["words"]
    fusion = word_fusion(LM, w["classes"])
    c = w["cases"][case]
    opts = {OPTS[k]: v for k, v in c["options"].items()}
    for u, want in zip(w["utterances"], c["results"]):
        check(lm_beam_search(u["logProbs"], u["T"], len(w["classes"]), fusion, **opts), want)


@pytest.mark.parametrize("case", range(len(FIXTURE["ties"])))
def test_ties_are_broken_as_the_lab_breaks_them(case):
    t, classes = FIXTURE["ties"][case], FIXTURE["words"]["classes"]
    got = lm_beam_search(t["logProbs"], t["T"], len(classes), word_fusion(LM, classes), **{OPTS[k]: v for k, v in t["options"].items()})
    check(got, t["result"])


@pytest.mark.parametrize("constrain", [False, True])
def test_character_vocabulary_hypotheses_equal_the_labs(constrain):
    ch = FIXTURE["chars"]
    class_of = {c: k for k, c in enumerate(ch["classes"])}
    fusion = Fusion(LM, None, ch["separator"], lexicon_from_model(LM, class_of), constrain)
    c = next(c for c in ch["cases"] if c["constrain"] == constrain)
    for u, want in zip(ch["utterances"], c["results"]):
        check(lm_beam_search(u["logProbs"], u["T"], len(ch["classes"]), fusion, **{OPTS[k]: v for k, v in c["options"].items()}), want)


def test_tuning_chooses_as_the_lab():
    w = FIXTURE["words"]
    fusion = word_fusion(LM, w["classes"])
    refs = [u["reference"] for u in w["utterances"]]

    def evaluate(alpha, beta):
        hyps = [" ".join(w["classes"][c] for c in lm_beam_search(u["logProbs"], u["T"], len(w["classes"]), fusion, alpha=alpha, beta=beta)["ids"]) for u in w["utterances"]]
        return wer(refs, hyps)["rate"]

    t = tune_alpha_beta(evaluate, refine_rounds=1)
    want = w["tune"]
    assert (t["alpha"], t["beta"]) == (want["alpha"], want["beta"])
    assert t["wer"] == pytest.approx(want["wer"], abs=1e-12)
    assert [(p["alpha"], p["beta"]) for p in t["surface"]] == [(p["alpha"], p["beta"]) for p in want["surface"]]
    assert [p["wer"] for p in t["surface"]] == pytest.approx([p["wer"] for p in want["surface"]], abs=1e-12)


def test_decode_command_on_an_output_set(tmp_path, capsys):
    w = FIXTURE["words"]
    root = tmp_path / "outs"
    root.mkdir()
    C = len(w["classes"])
    for u in w["utterances"]:
        np.save(root / f"{u['id']}.npy", np.asarray(u["logProbs"], dtype=np.float32).reshape(u["T"], C))
    (root / "manifest.jsonl").write_text("".join(json.dumps({"id": u["id"], "text": u["reference"], "posteriors": f"{u['id']}.npy"}) + "\n" for u in w["utterances"]))
    (root / "vocab.txt").write_text("".join(c + "\n" for c in w["classes"]))
    (tmp_path / "lm.arpa").write_text(FIXTURE["lm"]["arpa"])
    out = tmp_path / "hyps.tsv"
    case = w["cases"][1]
    assert main(["decode", str(root), "--lm", str(tmp_path / "lm.arpa"), "--alpha", str(case["options"]["alpha"]), "--beta", str(case["options"]["beta"]), "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == ["id", "reference", "hypothesis"]
    assert [r[2] for r in rows[1:]] == [" ".join(w["classes"][c] for c in res["ids"]) for res in case["results"]]
    assert [r[1] for r in rows[1:]] == [u["reference"] for u in w["utterances"]]
    text = capsys.readouterr().out
    assert "greedy: WER" in text and "+ LM (alpha 0.8, beta 1.5): WER" in text
