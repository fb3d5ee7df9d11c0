"""The lab's n-gram language model in Python (src/engine/lm/: ngram.ts, kneser_ney.ts, arpa.ts):
interpolated modified Kneser-Ney built from transcripts (orders 2-4), ARPA read/write, backoff
scoring and perplexity, with the same numbering, state rule and refusals, so a model built or read
here scores as the lab's does (tests/test_lm.py checks it on fixtures the lab wrote).

Scores are log10 (ARPA's unit). A state is the id of the longest suffix of the history that is an
n-gram of the model (KenLM's state minimisation); ids number the unigrams first (id = word id), then
each higher order in file order. `python -m ctc_lab lm DATA -o lm.arpa --order 3` builds one from
a dataset's training transcripts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .errors import CtcLabError

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
LOG10_ZERO = -99.0
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


@dataclass
class NgramModel:
    order: int
    vocab: list[str]
    starts: list[int]  # first id of each order, then the total
    word: list[int] = field(default_factory=list)
    context: list[int] = field(default_factory=list)  # id of the first n-1 words (-1 for unigrams)
    suffix: list[int] = field(default_factory=list)  # id of the last n-1 words (-1 for unigrams)
    log_prob: list[float] = field(default_factory=list)
    backoff: list[float] = field(default_factory=list)
    table: dict[tuple[int, int], int] = field(default_factory=dict)  # (context, word) -> id, orders >= 2
    index: dict[str, int] = field(default_factory=dict)  # word -> word id

    @property
    def bos(self) -> int:
        return self.index.get(BOS, -1)

    @property
    def eos(self) -> int:
        return self.index.get(EOS, -1)

    @property
    def unk(self) -> int:
        return self.index.get(UNK, -1)

    def word_id(self, w: str) -> int:
        return self.index.get(w, self.unk)

    def find(self, words: list[int]) -> int:
        g = words[0]
        for w in words[1:]:
            g = self.table.get((g, w), -1)
            if g < 0:
                return -1
        return g

    def ngram_words(self, g: int) -> list[int]:
        out = []
        while g >= 0:
            out.append(self.word[g])
            g = self.context[g]
        return out[::-1]


class _Assembler:
    """Fills a model order by order; an n-gram needs its context and its suffix among the (n-1)-grams."""

    def __init__(self, vocab: list[str], counts: list[int]):
        order = len(counts)
        starts = [0]
        for c in counts:
            starts.append(starts[-1] + c)
        total = starts[-1]
        self.m = NgramModel(order, vocab, starts, list(range(len(vocab))) + [0] * (total - len(vocab)), [-1] * total, [-1] * total, [0.0] * total, [0.0] * total)
        self.m.index = {w: i for i, w in enumerate(vocab)}
        self.next = starts[:order]
        self.next[0] = len(vocab)

    def add(self, words: list[int], lp: float, bo: float) -> int | str:
        n, m = len(words), self.m
        ctx = m.find(words[:-1])
        if ctx < 0:
            return f"its context (first {n - 1} words) is not among the {n - 1}-grams"
        suf = m.find(words[1:])
        if suf < 0:
            return f"backoff without a lower order: its last {n - 1} words are not among the {n - 1}-grams"
        g = self.next[n - 1]
        if g >= m.starts[n]:
            return f"more {n}-grams than the {m.starts[n] - m.starts[n - 1]} announced"
        if (ctx, words[-1]) in m.table:
            return "it is listed twice"
        m.word[g], m.context[g], m.suffix[g], m.log_prob[g], m.backoff[g] = words[-1], ctx, suf, lp, bo
        m.table[(ctx, words[-1])] = g
        self.next[n - 1] += 1
        return g


def lm_score(m: NgramModel, state: int, w: int) -> tuple[float, int]:
    """(log10 P(w | state), the state after w); state -1 = no history, w -1 = unnamed word (LOG10_ZERO)."""
    if w < 0:
        return LOG10_ZERO, -1
    top = m.starts[m.order - 1]
    bo = 0.0
    cur = state
    while cur >= 0:
        g = m.table.get((cur, w), -1)
        if g >= 0:
            return bo + m.log_prob[g], (m.suffix[g] if g >= top else g)
        bo += m.backoff[cur]
        cur = m.suffix[cur]
    return bo + m.log_prob[w], w


def sentence_log_prob(m: NgramModel, words: list[int]) -> float:
    state, s = m.bos, 0.0
    for w in [*words, m.eos]:
        lp, state = lm_score(m, state, w)
        s += lp
    return s


def perplexity(m: NgramModel, sentences: list[list[str]]) -> dict:
    lp, tokens, oov = 0.0, 0, 0
    for s in sentences:
        oov += sum(w not in m.index for w in s)
        lp += sentence_log_prob(m, [m.word_id(w) for w in s])
        tokens += len(s) + 1
    return {"perplexity": 10 ** (-lp / tokens) if tokens else math.nan, "log10_prob": lp, "tokens": tokens, "oov": oov, "sentences": len(sentences)}


# ---------------------------------------------------------------- building (interpolated modified Kneser-Ney)


def modified_kn_discounts(n1: int, n2: int, n3: int, n4: int) -> tuple[float, float, float] | None:
    if 0 in (n1, n2, n3, n4):
        return None
    Y = n1 / (n1 + 2 * n2)
    D = (1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3)
    return D if all(0 <= d <= k + 1 for k, d in enumerate(D)) else None


def build_vocab(sentences: list[list[str]]) -> list[str]:
    words = {w for s in sentences for w in s if w not in (UNK, BOS, EOS)}
    return [UNK, BOS, EOS, *sorted(words)]


def build_kneser_ney(sentences: list[list[str]], order: int) -> tuple[NgramModel, dict]:
    """As kneser_ney.ts: adjusted counts (raw at the top order and for <s>-initial n-grams, else
    left-continuation counts), Chen & Goodman discounts per order (fallback 0.5/1/1.5), interpolation
    down to the uniform over every word but <s>."""
    if order not in (2, 3, 4):
        raise CtcLabError(f"n-gram order must be 2, 3 or 4, got {order}")
    for i, s in enumerate(sentences):
        bad = next((w for w in s if w in (BOS, EOS) or w == "" or re.search(r"\s", w)), None)
        if bad is not None:
            raise CtcLabError(f"sentence {i + 1}: the token {bad!r} cannot be a word (<s> and </s> are added around each sentence; tokens hold no spaces)")
    vocab = build_vocab(sentences)
    index = {w: i for i, w in enumerate(vocab)}
    V, bos = len(vocab), 1
    raw: list[dict[tuple, int]] = [{} for _ in range(order)]
    for s in sentences:
        ids = [bos, *(index[w] for w in s), 2]
        for i in range(len(ids)):
            for n in range(1, order + 1):
                if i + n <= len(ids):
                    k = tuple(ids[i : i + n])
                    raw[n - 1][k] = raw[n - 1].get(k, 0) + 1
    adj: list[dict[tuple, int]] = [{} for _ in range(order)]
    adj[order - 1] = dict(raw[order - 1])
    for n in range(order - 1, 0, -1):
        for k, c in raw[n - 1].items():
            if k[0] == bos:
                adj[n - 1][k] = c
        for k in raw[n]:
            tail = k[1:]
            if tail[0] == bos:
                continue
            adj[n - 1][tail] = adj[n - 1].get(tail, 0) + 1
    adj[0].pop((bos,), None)
    discounts, fallback = [], []
    for n in range(1, order + 1):
        nk = [0, 0, 0, 0]
        for a in adj[n - 1].values():
            if a <= 4:
                nk[a - 1] += 1
        D = modified_kn_discounts(*nk)
        discounts.append(D or FALLBACK_DISCOUNTS)
        fallback.append(D is None)

    def disc(n: int, a: int) -> float:
        return 0.0 if a == 0 else discounts[n - 1][min(a, 3) - 1]

    gamma, totals = [], []
    for n in range(1, order + 1):
        tot: dict[tuple, int] = {}
        num: dict[tuple, float] = {}
        for k, a in adj[n - 1].items():
            h = k[:-1]
            tot[h] = tot.get(h, 0) + a
            num[h] = num.get(h, 0.0) + disc(n, a)
        gamma.append({h: num[h] / t for h, t in tot.items()})
        totals.append(tot)
    prob: list[dict[tuple, float]] = []
    for n in range(1, order + 1):
        p = {}
        keys = [(w,) for w in range(V) if w != bos] if n == 1 else list(adj[n - 1])
        for k in keys:
            h = k[:-1]
            a = adj[n - 1].get(k, 0)
            t = totals[n - 1].get(h, 0)
            low = 1 / (V - 1) if n == 1 else prob[n - 2][k[1:]]
            p[k] = (a - disc(n, a)) / t + gamma[n - 1][h] * low if t > 0 else low
        prob.append(p)

    def bo(n: int, k: tuple) -> float:
        g = gamma[n].get(k) if n < order else None
        return 0.0 if g is None else math.log10(g)

    asm = _Assembler(vocab, [V] + [len(adj[n]) for n in range(1, order)])
    m = asm.m
    for w in range(V):
        m.log_prob[w] = LOG10_ZERO if w == bos else math.log10(prob[0][(w,)])
        m.backoff[w] = bo(1, (w,))
    for n in range(2, order + 1):
        grams = sorted(adj[n - 1], key=lambda k: (m.find(list(k[:-1])), k[-1]))
        for k in grams:
            r = asm.add(list(k), math.log10(prob[n - 1][k]), bo(n, k))
            if isinstance(r, str):
                raise AssertionError(f"Kneser-Ney build: {k}: {r}")
    return m, {"discounts": [list(d) for d in discounts], "fallback": fallback}


# ---------------------------------------------------------------- ARPA


def write_arpa(m: NgramModel) -> str:
    out = ["", "\\data\\"]
    out += [f"ngram {n}={m.starts[n] - m.starts[n - 1]}" for n in range(1, m.order + 1)]
    for n in range(1, m.order + 1):
        out += ["", f"\\{n}-grams:"]
        for g in range(m.starts[n - 1], m.starts[n]):
            words = " ".join(m.vocab[w] for w in m.ngram_words(g))
            b = f"\t{_num(m.backoff[g])}" if n < m.order and m.backoff[g] != 0 else ""
            out.append(f"{_num(m.log_prob[g])}\t{words}{b}")
    out += ["", "\\end\\", ""]
    return "\n".join(out)


def _num(x: float) -> str:
    """The shortest text that reads back to x (repr), integers without '.0' as the lab writes them."""
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def read_arpa(text: str, file: str = "lm.arpa") -> NgramModel:
    """Reads an ARPA file; refusals name `file, line N` as arpa.ts's do."""
    lines = re.split(r"\r?\n", text)
    i = 0

    def at(k: int) -> str:
        return f"{file}, line {k + 1}"

    def number(s: str, where: str, what: str) -> float:
        if not _NUMBER.match(s):
            raise CtcLabError(f"{where}: {what} {s!r} is not a number")
        return float(s)

    while i < len(lines) and lines[i].strip() != "\\data\\":
        i += 1
    if i == len(lines):
        raise CtcLabError(f"{file}: no \\data\\ line (not an ARPA language model)")
    data_line = i
    i += 1
    counts: list[int] = []
    while i < len(lines):
        t = lines[i].strip()
        if t == "":
            if counts:
                break
            i += 1
            continue
        mm = re.match(r"^ngram\s+(\d+)\s*=\s*(\S+)$", t)
        if not mm:
            if t.startswith("\\"):
                break
            raise CtcLabError(f"{at(i)}: expected 'ngram N=count' in the \\data\\ section, got {t!r}")
        n = int(mm.group(1))
        if n != len(counts) + 1:
            raise CtcLabError(f"{at(i)}: 'ngram {n}=' where 'ngram {len(counts) + 1}=' was expected (orders must run 1, 2, … in order)")
        if not re.match(r"^\d+$", mm.group(2)) or int(mm.group(2)) < 1:
            raise CtcLabError(f"{at(i)}: the count of {n}-grams {mm.group(2)!r} is not a positive integer")
        counts.append(int(mm.group(2)))
        i += 1
    if not counts:
        raise CtcLabError(f"{at(data_line)}: the \\data\\ section has no 'ngram N=count' lines")
    order = len(counts)

    def skip_blank() -> None:
        nonlocal i
        while i < len(lines) and lines[i].strip() == "":
            i += 1

    def section(n: int) -> tuple[int, list[tuple[int, list[str]]]]:
        nonlocal i
        skip_blank()
        if i == len(lines) or lines[i].strip() != f"\\{n}-grams:":
            where = f"{file}, end of file" if i == len(lines) else at(i)
            found = f", found {lines[i].strip()!r}" if i < len(lines) else ""
            raise CtcLabError(f"{where}: missing section \\{n}-grams: (\\data\\ announces {order} orders){found}")
        start = i
        i += 1
        entries = []
        while i < len(lines):
            t = lines[i].strip()
            if t == "" or t.startswith("\\"):
                break
            entries.append((i, t.split()))
            i += 1
        if len(entries) != counts[n - 1]:
            raise CtcLabError(f"{at(start)}: \\{n}-grams: has {len(entries)} entries but \\data\\ says ngram {n}={counts[n - 1]} ({at(data_line + n)})")
        return start, entries

    def fields(k: int, f: list[str], n: int) -> tuple[float, float, list[str]]:
        if len(f) not in (n + 1, n + 2):
            raise CtcLabError(f"{at(k)}: a {n}-gram line needs a log10 probability, {n} word{'s' if n > 1 else ''} and an optional backoff weight; it has {len(f)} fields")
        if len(f) == n + 2 and n == order:
            raise CtcLabError(f"{at(k)}: a backoff weight on a {n}-gram, the highest order (nothing to back off to)")
        lp = number(f[0], at(k), "the log10 probability")
        if lp > 0:
            raise CtcLabError(f"{at(k)}: the log10 probability {f[0]} is above 0")
        bo = number(f[n + 1], at(k), "the backoff weight") if len(f) == n + 2 else 0.0
        return lp, bo, f[1 : n + 1]

    ustart, uni = section(1)
    vocab: list[str] = []
    index: dict[str, int] = {}
    parsed = []
    for k, f in uni:
        lp, bo, (w,) = fields(k, f, 1)
        if w in index:
            raise CtcLabError(f"{at(k)}: the unigram {w!r} is listed twice (first at {at(uni[index[w]][0])})")
        index[w] = len(vocab)
        vocab.append(w)
        parsed.append((lp, bo))
    for tok, what in ((BOS, "sentence start"), (EOS, "sentence end")):
        if tok not in index:
            raise CtcLabError(f"{at(ustart)}: the unigrams have no {tok} ({what}); a language model for decoding needs it")
    asm = _Assembler(vocab, counts)
    for w, (lp, bo) in enumerate(parsed):
        asm.m.log_prob[w], asm.m.backoff[w] = lp, bo
    for n in range(2, order + 1):
        _, entries = section(n)
        for k, f in entries:
            lp, bo, words = fields(k, f, n)
            ids = []
            for w in words:
                if w not in index:
                    raise CtcLabError(f"{at(k)}: the word {w!r} is not among the unigrams")
                ids.append(index[w])
            r = asm.add(ids, lp, bo)
            if isinstance(r, str):
                raise CtcLabError(f"{at(k)}: the {n}-gram '{' '.join(words)}': {r}")
    skip_blank()
    if i == len(lines) or lines[i].strip() != "\\end\\":
        where = f"{file}, end of file" if i == len(lines) else at(i)
        found = f", found {lines[i].strip()!r}" if i < len(lines) else ""
        raise CtcLabError(f"{where}: expected \\end\\ after the {order}-grams{found}")
    return asm.m


def build_lm_command(data: str, out: str, order: int, split: str = "train") -> int:
    """`python -m ctc_lab lm DATA -o lm.arpa --order N`: a Kneser-Ney model of a split's transcripts
    (default train), its perplexity on val where the dataset has one."""
    from .data import open_dataset

    ds = open_dataset(data, require_train=False)
    sents = [s.text.split() for s in ds.samples if s.split == split]
    if not sents:
        raise CtcLabError(f"{data}: no transcripts in split '{split}'")
    m, info = build_kneser_ney(sents, order)
    text = write_arpa(m)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    val = [s.text.split() for s in ds.samples if s.split == "val"]
    ppl = f", val perplexity {perplexity(m, val)['perplexity']:.3f} over {len(val)} sentences" if val else ""
    fb = [n + 1 for n, x in enumerate(info["fallback"]) if x]
    note = f" (fallback discounts at order {', '.join(map(str, fb))})" if fb else ""
    print(f"{out}: {order}-gram from {len(sents)} {split} sentences, {', '.join(f'{m.starts[n] - m.starts[n - 1]} {n}-grams' for n in range(1, order + 1))}{ppl}{note}")
    return 0
