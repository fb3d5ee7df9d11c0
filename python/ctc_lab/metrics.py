"""Greedy CTC decoding and WER / CER with S/D/I counts, as the lab computes them
(src/engine/decode/greedy.ts, src/engine/metrics/{align,wer}.ts)."""

from __future__ import annotations


def greedy_decode(best: list[int], blank: int = 0) -> list[int]:
    """Argmax classes of one sample's real frames → merged repeats, blanks dropped."""
    out, prev = [], -1
    for c in best:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def ids_to_tokens(ids: list[int], vocab: list[str]) -> list[str]:
    return [vocab[i - 1] if 0 < i <= len(vocab) else f"<{i}>" for i in ids]


def edit_counts(ref: list, hyp: list) -> tuple[int, int, int]:
    """(S, D, I) of the minimum-edit alignment; ties prefer substitution / match, then deletion."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    S = D = I = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            S += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            D += 1
            i -= 1
        else:
            I += 1
            j -= 1
    return S, D, I


def error_rate(refs: list[list], hyps: list[list]) -> dict:
    S = D = I = N = 0
    for r, h in zip(refs, hyps, strict=True):
        s, d, i = edit_counts(r, h)
        S, D, I, N = S + s, D + d, I + i, N + len(r)
    rate = (1 if I > 0 else 0) if N == 0 else (S + D + I) / N
    return {"S": S, "D": D, "I": I, "N": N, "rate": rate}


def wer(refs: list[str], hyps: list[str]) -> dict:
    return error_rate([r.split() for r in refs], [h.split() for h in hyps])


def cer(refs: list[str], hyps: list[str]) -> dict:
    return error_rate([list(r.strip()) for r in refs], [list(h.strip()) for h in hyps])
