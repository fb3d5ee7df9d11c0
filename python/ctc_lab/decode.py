"""The lab's LM-fused CTC prefix beam search and α/β tuning in Python (src/engine/decode/lm_beam.ts,
lexicon.ts, tune_lm.ts), step for step in the same order, so the twin's hypotheses equal the lab's
(tests/test_decode.py on fixtures the lab wrote):

  score(prefix) = ln P_CTC(prefix) + α · ln P_LM(words) + β · |words|

The LM scores a word when it ends (every class of a word vocabulary; the separator, or the end, for
a character vocabulary spelled through a lexicon trie), and </s> at the end. Ties: shorter prefix,
then smaller class ids.

`python -m ctc_lab decode OUTPUTS_OR_CKPT [DATA] --lm lm.arpa [--alpha --beta --beam --tune]` writes
a .tsv of id, reference, hypothesis and prints greedy, beam and beam + LM WER.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from .errors import CtcLabError
from .lm import UNK, NgramModel, lm_score, read_arpa
from .metrics import wer

LN10 = math.log(10)
DEFAULTS = {"beam_width": 10, "prune": math.log(1e-4), "alpha": 0.5, "beta": 1.0, "blank": 0}


def log_add_exp(a: float, b: float) -> float:
    """ctc_reference.ts's logAddExp, the same operations."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = a if a > b else b
    return m + math.log(math.exp(a - m) + math.exp(b - m))


@dataclass
class Lexicon:
    child: dict[tuple[int, int], int]  # (node, class) -> node; node 0 the root
    word_of: list[int]  # node -> LM word id, -1 not a word end


def build_lexicon(spellings: list[list[int]], word_ids: list[int]) -> Lexicon:
    child: dict[tuple[int, int], int] = {}
    word_of = [-1]
    for s, w in zip(spellings, word_ids):
        if not s:
            continue
        node = 0
        for c in s:
            if (node, c) not in child:
                child[(node, c)] = len(word_of)
                word_of.append(-1)
            node = child[(node, c)]
        if word_of[node] < 0:
            word_of[node] = w
    return Lexicon(child, word_of)


def lexicon_from_model(lm: NgramModel, class_of: dict[str, int], words: list[str] | None = None) -> Lexicon:
    if words is None:
        words = [w for i, w in enumerate(lm.vocab) if i not in (lm.bos, lm.eos) and w != UNK]
    sp, ids = [], []
    for w in words:
        s = [class_of.get(ch, -1) for ch in w]
        if not s or -1 in s:
            continue
        sp.append(s)
        ids.append(lm.index.get(w, lm.unk))
    return build_lexicon(sp, ids)


@dataclass
class Fusion:
    lm: NgramModel
    class_word: list[int] | None  # word vocabularies: LM word id of each class
    separator: int = -1  # character vocabularies
    lexicon: Lexicon | None = None
    constrain: bool = False


def word_fusion(lm: NgramModel, classes: list[str]) -> Fusion:
    return Fusion(lm, [lm.index.get(w, lm.unk) for w in classes])


def lm_beam_search(log_probs, frames: int, C: int, fusion: Fusion | None = None, **options) -> dict:
    """log_probs: [T, C] natural-log probabilities (numpy or nested lists). Returns {ids, score,
    ctc_log_prob, lm_log_prob, words, feasible} as lmBeamSearch does."""
    o = {**DEFAULTS, **options}
    width, prune, alpha, beta, blank = o["beam_width"], o["prune"], o["alpha"], o["beta"], o["blank"]
    if not width >= 1:
        raise CtcLabError(f"beam width must be at least 1, got {width}")
    lp = np.asarray(log_probs, dtype=np.float64).reshape(-1)
    if lp.size < frames * C:
        raise CtcLabError(f"lm_beam_search: {lp.size} values cannot hold {frames} frames × {C} classes")
    grid = lp[: frames * C].reshape(frames, C)
    rows = grid.tolist()
    ok = grid >= prune
    ok[:, blank] = False
    cands = [np.flatnonzero(r).tolist() for r in ok]  # per frame, the classes above the threshold, ascending
    lm = fusion.lm if fusion else None
    char_mode = fusion is not None and fusion.class_word is None
    if char_mode and fusion.lexicon is None:
        raise CtcLabError("lm_beam_search: a character vocabulary needs a lexicon (lexicon_from_model) to name its words")

    parent, token, depth = [-1], [-1], [0]
    state, trie, words, lm_log = [lm.bos if lm else 0], [0], [0], [0.0]
    children: dict[tuple[int, int], int] = {}

    def extend(node: int, c: int) -> int:
        known = children.get((node, c))
        if known is not None:
            return known
        st, tr, wd, ll, ok = state[node], trie[node], words[node], lm_log[node], True
        if fusion and lm:
            if not char_mode:
                s, st = lm_score(lm, state[node], fusion.class_word[c])
                ll += LN10 * s
                wd += 1
            elif c == fusion.separator:
                if tr != 0:
                    w = fusion.lexicon.word_of[tr] if tr > 0 else -1
                    if w < 0 and fusion.constrain:
                        ok = False
                    else:
                        s, st = lm_score(lm, state[node], lm.unk if w < 0 else w)
                        ll += LN10 * s
                        wd += 1
                        tr = 0
            else:
                tr = -1 if tr < 0 else fusion.lexicon.child.get((tr, c), -1)
                if tr < 0 and fusion.constrain:
                    ok = False
        if not ok:
            children[(node, c)] = -2
            return -2
        n = len(parent)
        parent.append(node)
        token.append(c)
        depth.append(depth[node] + 1)
        state.append(st)
        trie.append(tr)
        words.append(wd)
        lm_log.append(ll)
        children[(node, c)] = n
        return n

    def prefix_of(node: int) -> list[int]:
        out = []
        while node > 0:
            out.append(token[node])
            node = parent[node]
        return out[::-1]

    def fused(node: int, ctc: float) -> float:
        return (0 if alpha == 0 else alpha * lm_log[node]) + ctc + beta * words[node]

    def ranked(items: list, limit: int) -> list:
        """items (score, node, …) best first, at most limit: by score, equal scores by prefix (shorter,
        then smaller class ids), as lm_beam.ts's comparator orders them; prefixes are built only for ties."""
        items.sort(key=lambda x: -x[0])
        out, i = [], 0
        while i < len(items) and len(out) < limit:
            j = i + 1
            while j < len(items) and items[j][0] == items[i][0]:
                j += 1
            group = items[i:j]
            if len(group) > 1:
                group.sort(key=lambda x: (depth[x[1]], prefix_of(x[1])))
            out.extend(group)
            i = j
        return out[:limit]

    beams = [(0, 0.0, -math.inf)]
    for t in range(frames):
        row = rows[t]
        cand = cands[t]
        p_blank = row[blank]
        slot: dict[int, int] = {}
        nxt: list[list] = []  # [node, pb, pnb]

        def entry(node: int) -> list:
            e = slot.get(node)
            if e is None:
                e = slot[node] = len(nxt)
                nxt.append([node, -math.inf, -math.inf])
            return nxt[e]

        for node, pb, pnb in beams:
            total = log_add_exp(pb, pnb)
            e = entry(node)
            e[1] = log_add_exp(e[1], total + p_blank)
            last = token[node]
            for c in cand:
                p = row[c]
                if c == last:
                    e = entry(node)
                    e[2] = log_add_exp(e[2], pnb + p)
                    ch = extend(node, c)
                    if ch >= 0:
                        e = entry(ch)
                        e[2] = log_add_exp(e[2], pb + p)
                else:
                    ch = extend(node, c)
                    if ch >= 0:
                        e = entry(ch)
                        e[2] = log_add_exp(e[2], total + p)
        scored = [(fused(n, log_add_exp(pb, pnb)), n, pb, pnb) for n, pb, pnb in nxt]
        beams = [(n, pb, pnb) for _, n, pb, pnb in ranked(scored, width)]

    finals = []
    for node, pb, pnb in beams:
        ctc = log_add_exp(pb, pnb)
        ll, wd, feasible = lm_log[node], words[node], True
        if fusion and lm:
            st = state[node]
            if char_mode and trie[node] != 0:
                w = fusion.lexicon.word_of[trie[node]] if trie[node] > 0 else -1
                if w < 0 and fusion.constrain:
                    feasible = False
                else:
                    s, st = lm_score(lm, st, lm.unk if w < 0 else w)
                    ll += LN10 * s
                    wd += 1
            s, _ = lm_score(lm, st, lm.eos)
            ll += LN10 * s
        score = (0 if alpha == 0 else alpha * ll) + ctc + beta * wd if feasible else -math.inf
        finals.append((score, node, ctc, ll, wd, feasible))
    score, node, ctc, ll, wd, feasible = ranked(finals, 1)[0]
    if not feasible:
        return {"ids": [], "score": -math.inf, "ctc_log_prob": -math.inf, "lm_log_prob": -math.inf, "words": 0, "feasible": False}
    return {"ids": prefix_of(node), "score": score, "ctc_log_prob": ctc, "lm_log_prob": ll, "words": wd, "feasible": True}


# ---------------------------------------------------------------- α/β tuning (tune_lm.ts)

TUNE_DEFAULTS = {"alphas": [0, 0.25, 0.5, 0.75, 1, 1.5, 2], "betas": [-1, 0, 1, 2, 3], "alpha_step": 0.25, "beta_step": 0.5, "refine_rounds": 2}


def better_point(a: dict, b: dict) -> bool:
    if a["wer"] != b["wer"]:
        return a["wer"] < b["wer"]
    if a["alpha"] != b["alpha"]:
        return a["alpha"] < b["alpha"]
    if abs(a["beta"]) != abs(b["beta"]):
        return abs(a["beta"]) < abs(b["beta"])
    return a["beta"] < b["beta"]


def tune_alpha_beta(evaluate, **settings) -> dict:
    """Coarse grid then half-step neighbour rounds; {alpha, beta, wer, surface: [{alpha, beta, wer}]}."""
    s = {**TUNE_DEFAULTS, **settings}
    surface, seen = [], set()
    best = None

    def at(a: float, b: float) -> None:
        nonlocal best
        a, b = round(a * 1e9) / 1e9, round(b * 1e9) / 1e9
        if a < 0 or (a, b) in seen:
            return
        seen.add((a, b))
        p = {"alpha": a, "beta": b, "wer": evaluate(a, b)}
        surface.append(p)
        if best is None or better_point(p, best):
            best = p

    for a in s["alphas"]:
        for b in s["betas"]:
            at(a, b)
    da, db = s["alpha_step"], s["beta_step"]
    for _ in range(s["refine_rounds"]):
        da, db = da / 2, db / 2
        c = best
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                if i or j:
                    at(c["alpha"] + i * da, c["beta"] + j * db)
    return {**best, "surface": surface}


# ---------------------------------------------------------------- the command


def _sources(source: str, data: str | None, split: str | None, device: str):
    """(classes with '<blank>' at the blank, blank, [(id, reference, split, log_probs [T', C])])."""
    if source.endswith(".safetensors"):
        if not data:
            raise CtcLabError(f"{source}: decoding a checkpoint needs DATA (the dataset to run it on)")
        from .checkpoint import load_checkpoint
        from .data import open_dataset
        from .outputs import log_probs

        model, meta = load_checkpoint(source, device)
        ds = open_dataset(data, require_train=False)
        samples = [s for s in ds.samples if split is None or s.split in split.split(",")]
        lps = log_probs(model, ds, samples, meta["normalisation"], device)
        return ["<blank>", *meta["vocab"]], 0, [(s.id, s.text, s.split, lps[s.id]) for s in samples]
    from .output_set import read_output_set

    os_ = read_output_set(source)
    rows = [(sid, s.text, None, os_.log_probs(sid)) for sid, s in os_.samples.items()]
    return os_.classes, os_.blank, rows


def decode_command(a) -> int:
    with open(a.lm, encoding="utf-8") as f:
        lm = read_arpa(f.read(), a.lm)
    need = None if a.split is None else ",".join(sorted({a.split, "val"} if a.tune else {a.split}))
    classes, blank, rows = _sources(a.source, a.data, need, a.device)  # a checkpoint runs on these splits only
    if a.separator:
        if a.separator not in classes:
            raise CtcLabError(f"--separator {a.separator!r} is not a class of {a.source}")
        class_of = {c: k for k, c in enumerate(classes) if k != blank}
        fusion = Fusion(lm, None, classes.index(a.separator), lexicon_from_model(lm, class_of), a.lexicon)
    else:
        fusion = word_fusion(lm, classes)
    splits = {r[2] for r in rows}

    def hyp_text(ids: list[int]) -> str:
        toks = [classes[i] for i in ids]
        if a.separator:
            return " ".join(w for w in "".join(toks).split(a.separator) if w)
        return " ".join(toks)

    def decode(subset, alpha, beta, use_lm=True):
        return [hyp_text(lm_beam_search(lp, lp.shape[0], lp.shape[1], fusion if use_lm else None, beam_width=a.beam, alpha=alpha, beta=beta, blank=blank)["ids"]) for _, _, _, lp in subset]

    alpha, beta = a.alpha, a.beta
    test = [r for r in rows if a.split is None or r[2] == a.split]
    if a.tune:
        val = [r for r in rows if r[2] == "val"]
        if not val:
            raise CtcLabError(f"{a.source}: --tune needs val samples (a split column, or a checkpoint with a dataset that has a val split); splits seen: {sorted(map(str, splits))}")
        refs = [r[1] for r in val]
        t = tune_alpha_beta(lambda al, be: wer(refs, decode(val, al, be))["rate"])
        alpha, beta = t["alpha"], t["beta"]
        print(f"tuned on {len(val)} val samples: alpha {alpha:g}, beta {beta:g}, val WER {100 * t['wer']:.2f}% ({len(t['surface'])} points)")
        if a.surface:
            with open(a.surface, "w", encoding="utf-8") as f:
                f.write("alpha\tbeta\twer\n" + "".join(f"{p['alpha']:g}\t{p['beta']:g}\t{p['wer']:.6f}\n" for p in t["surface"]))
    if not test:
        raise CtcLabError(f"{a.source}: no samples in split '{a.split}'")
    refs = [r[1] for r in test]
    greedy = []
    for _, _, _, lp in test:
        best = lp.argmax(1).tolist()
        greedy.append(hyp_text([c for k, c in enumerate(best) if c != blank and (k == 0 or c != best[k - 1])]))
    plain = decode(test, 0, 0, use_lm=False)
    t0 = time.perf_counter()
    fused = decode(test, alpha, beta)
    secs = time.perf_counter() - t0
    out = a.output or os.path.splitext(os.path.basename(a.source.rstrip("/")))[0] + ".hyps.tsv"
    clean = lambda s: s.replace("\t", " ").replace("\n", " ")  # noqa: E731
    with open(out, "w", encoding="utf-8") as f:
        f.write("id\treference\thypothesis\n" + "".join(f"{clean(r[0])}\t{clean(r[1])}\t{clean(h)}\n" for r, h in zip(test, fused)))
    for name, hyps in (("greedy", greedy), (f"beam {a.beam}", plain), (f"beam {a.beam} + LM (alpha {alpha:g}, beta {beta:g})", fused)):
        w = wer(refs, hyps)
        print(f"{name}: WER {100 * w['rate']:.2f}% (S {w['S']}, D {w['D']}, I {w['I']}, N {w['N']})")
    print(f"{out}: {len(test)} hypotheses; beam + LM decoding {len(test) / secs:.1f} utterances/s ({secs:.2f} s, one process)")
    return 0


def add_decode_flags(p) -> None:
    p.add_argument("source", metavar="OUTPUTS_OR_CKPT", help="a model-outputs folder/.zip, or a .safetensors checkpoint")
    p.add_argument("data", metavar="DATA", nargs="?", help="the dataset (needed with a checkpoint)")
    p.add_argument("--lm", required=True, metavar="LM.arpa")
    p.add_argument("--alpha", type=float, default=DEFAULTS["alpha"], help="LM weight (default 0.5)")
    p.add_argument("--beta", type=float, default=DEFAULTS["beta"], help="word bonus, nats per word (default 1)")
    p.add_argument("--beam", type=int, default=DEFAULTS["beam_width"], help="beam width (default 10)")
    p.add_argument("--tune", action="store_true", help="choose alpha and beta on the val samples first")
    p.add_argument("--surface", metavar="SURFACE.tsv", help="with --tune: write every (alpha, beta, val WER) tried")
    p.add_argument("--split", help="decode only this split (default: every sample)")
    p.add_argument("--separator", metavar="TOKEN", help="a character vocabulary: the class that separates words")
    p.add_argument("--lexicon", action="store_true", help="with --separator: only words of the LM")
    p.add_argument("-o", "--output", metavar="HYPS.tsv")
    p.add_argument("--device", default="cpu")
