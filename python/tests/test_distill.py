"""Distillation in the twin: the KD term against a float64 NumPy reference written from the
definition and against the lab's kdLoss; a lab distillation run continued in PyTorch with its
teacher as a checkpoint or as the lab-exported outputs (one step, then a resumed second one: the
same loss, KL term, agreement and weights as the lab); refusals that name the file and write
nothing. The lab's fixtures come from python/twin.test.ts; the rest is made here."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ctc_lab.__main__ import main
from ctc_lab.checkpoint import read_checkpoint
from ctc_lab.kd import kd_loss
from ctc_lab.output_set import read_output_set, row_kind, to_log_probs

from conftest import make_dataset, make_distill_run, round_trip
from test_twin import METRICS, compare_runs, rel_err

KD_CASES = ["kd-checkpoint", "kd-outputs"]
KD_METRICS = [*METRICS, "trainKd", "agreement", "teacherValWer"]


def kd_reference(student: np.ndarray, teacher: np.ndarray, lengths, tau: float, exclude_blank: bool, blank: int = 0):
    """Per-sample τ²·KL(softmax(t/τ) ‖ softmax(s/τ)) averaged over valid frames, and the gradient of
    their sum w.r.t. the student (τ·(q − p)/n on kept classes), in float64 from the definition."""
    B, T, C = student.shape
    kept = [c for c in range(C) if not (exclude_blank and c == blank)]
    per, grad = np.zeros(B), np.zeros((B, T, C))

    def log_softmax(z):
        m = z.max()
        return z - (m + np.log(np.exp(z - m).sum()))

    for b in range(B):
        n = int(lengths[b])
        for t in range(n):
            logp = log_softmax(teacher[b, t, kept].astype(np.float64) / tau)
            logq = log_softmax(student[b, t, kept].astype(np.float64) / tau)
            p, q = np.exp(logp), np.exp(logq)
            kl = sum(p[k] * (logp[k] - logq[k]) for k in range(len(kept)) if p[k] > 0)
            per[b] += tau * tau * kl / n
            grad[b, t, kept] = tau * (q - p) / n
    return per, grad


def torch_kd(student: np.ndarray, teacher: np.ndarray, lengths, tau: float, exclude_blank: bool):
    s = torch.tensor(student, requires_grad=True)
    per = kd_loss(s, torch.tensor(teacher), torch.tensor(lengths), tau, exclude_blank, reduction="none")
    per.sum().backward()
    mean = kd_loss(s.detach(), torch.tensor(teacher), torch.tensor(lengths), tau, exclude_blank)
    return per.detach().numpy().astype(np.float64), s.grad.numpy().astype(np.float64), float(mean)


# ---------------------------------------------------------------- the KD term


@pytest.mark.parametrize("exclude_blank", [True, False])
def test_kd_loss_equals_the_float64_reference(exclude_blank: bool):
    rng = np.random.default_rng(3)
    B, T, C = 4, 7, 5
    student = (2 * rng.normal(size=(B, T, C))).astype(np.float32)
    teacher = (2 * rng.normal(size=(B, T, C))).astype(np.float32)
    lengths = [7, 3, 1, 0]
    teacher[0, 2, 3] = -np.inf  # a class the teacher rules out: 0·log 0 = 0
    teacher[1, 5, :] = np.nan  # padding: masked out, no NaN may leak into value or gradient
    student[2, 4, 1] = np.inf
    per, grad, mean = torch_kd(student, teacher, lengths, 3.0, exclude_blank)
    ref, ref_grad = kd_reference(student, teacher, lengths, 3.0, exclude_blank)
    assert np.isfinite(per).all() and np.isfinite(grad).all()
    assert rel_err(per, ref) < 1e-5
    assert rel_err(grad, ref_grad) < 1e-5
    assert mean == pytest.approx(ref.mean(), rel=1e-5)
    assert per[3] == 0 and not grad[3].any() and not grad[1, 3:].any()  # no valid frames / padded frames: nothing
    # The blank's column: ignored when excluded, counted when kept.
    moved = student.copy()
    moved[:, :, 0] += 4
    per2, _, _ = torch_kd(moved, teacher, lengths, 3.0, exclude_blank)
    assert (rel_err(per2, per) < 1e-6) == exclude_blank


def test_a_student_equal_to_its_teacher_has_kd_zero_and_a_different_one_not():
    rng = np.random.default_rng(4)
    teacher = rng.normal(size=(2, 6, 4)).astype(np.float32)
    log_probs = torch.log_softmax(torch.tensor(teacher), -1).numpy()  # the same distributions, shifted per frame
    for exclude_blank in (True, False):
        per, grad, _ = torch_kd(log_probs, teacher, [6, 4], 8.0, exclude_blank)
        assert np.abs(per).max() < 1e-5 and np.abs(grad).max() < 1e-5
        per, _, _ = torch_kd(teacher[::-1].copy(), teacher, [6, 4], 8.0, exclude_blank)
        assert per.min() > 1e-3


@pytest.mark.parametrize("mode", ["excludeBlank", "includeBlank"])
def test_kd_loss_equals_the_labs(fx: Path, mode: str):
    d = fx / "distill" / "kd_loss"
    lab = json.loads((d / "lab.json").read_text())
    student, teacher = np.load(d / "student.npy"), np.load(d / "teacher.npy")
    exclude = mode == "excludeBlank"
    per, grad, mean = torch_kd(student, teacher, lab["lengths"], lab["temperature"], exclude)
    lab_grad = np.load(d / f"grad_{'exclude' if exclude else 'include'}.npy").astype(np.float64)
    ref, ref_grad = kd_reference(student, teacher, lab["lengths"], lab["temperature"], exclude)
    assert rel_err(per, np.asarray(lab[mode])) < 1e-5
    assert rel_err(grad / len(per), lab_grad) < 1e-5  # the lab's gradient is of the batch mean
    assert rel_err(np.asarray(lab[mode]), ref) < 1e-5 and rel_err(lab_grad, ref_grad / len(per)) < 1e-5
    assert mean == pytest.approx(float(np.mean(lab[mode])), rel=1e-5)


# ---------------------------------------------------------------- continuing the lab's distillation runs


def teacher_flags(fx: Path, case: str, folder: bool = False) -> list[str]:
    if case == "kd-checkpoint":
        return ["--teacher", str(fx / "distill" / "teacher.safetensors")]
    z = fx / "distill" / "teacher_outputs.zip"
    if not folder:
        return ["--teacher-outputs", str(z)]
    out = fx / "py" / "teacher_outputs"
    with zipfile.ZipFile(z) as f:
        f.extractall(out)
    return ["--teacher-outputs", str(out)]


@pytest.mark.parametrize("case", KD_CASES)
def test_distillation_steps_equal_the_labs(fx: Path, case: str):
    """One step (two micro-batches of unequal lengths, clipped) with the teacher given as its checkpoint
    or as its outputs (a .zip, then the same extracted to a folder), then a resumed second step."""
    d, out = fx / "train" / case, fx / "py" / "train" / case
    assert main(["train", str(d / "epoch0.safetensors"), str(fx / "dataset"), "-o", str(out / "e1"), *teacher_flags(fx, case)]) == 0
    seen1 = compare_runs(str(out / "e1" / "last.safetensors"), str(d / "epoch1.safetensors"), case, 1, KD_METRICS)
    lm, _ = read_checkpoint(str(d / "epoch1.safetensors"))
    pm, _ = read_checkpoint(str(out / "e1" / "last.safetensors"))
    assert pm["distillation"] == lm["distillation"] and lm["distillation"]["teacher"]["kind"] == case.split("-")[1]
    h = lm["history"][0]
    assert h["trainKd"] > 0.01 and h["gradNorm"] > lm["training"]["config"]["clipNorm"]  # a real KL term, clipping exercised
    assert main(["train", str(out / "e1" / "last.safetensors"), str(fx / "dataset"), "-o", str(out), "--epochs", "2", *teacher_flags(fx, case, folder=True)]) == 0
    seen2 = compare_runs(str(out / "last.safetensors"), str(d / "epoch2.safetensors"), case, 2, KD_METRICS)
    print(f"{case}: largest relative differences from the lab: step 1 {seen1}, step 2 {seen2}")
    # Measured (CPU, float32): weights ≤ 1.8e-7, moments ≤ 6.9e-7, history metrics ≤ 9.1e-7 relative.
    assert max(seen1.values()) < 1e-5 and max(seen2.values()) < 1e-5, (seen1, seen2)


@pytest.mark.parametrize("case", KD_CASES)
def test_a_distillation_checkpoint_round_trips(fx: Path, case: str):
    """Lab → PyTorch → lab without a teacher (reading and writing only): the lab compares the file."""
    (m0, t0), (m1, t1) = round_trip(fx, case)
    assert m1["distillation"] == m0["distillation"]
    assert sorted(t0) == sorted(t1) and all(np.array_equal(t0[k], t1[k]) for k in t0)


def test_the_labs_exported_outputs_read_as_the_labs_importer_reads_them(fx: Path):
    s = read_output_set(str(fx / "distill" / "teacher_outputs.zip"))
    meta, _ = read_checkpoint(str(fx / "distill" / "teacher.safetensors"))
    assert s.classes == (["<blank>", *meta["vocab"]])[::-1] and s.blank == len(meta["vocab"]) and s.subsampling == 4
    assert all(o.kind == "log_probs" for o in s.samples.values())


# ---------------------------------------------------------------- made here: both teacher kinds agree


def test_a_teacher_as_its_outputs_trains_as_the_teacher_checkpoint(tmp_path):
    data = make_dataset(tmp_path / "ds", n=24, splits=True)
    student, teacher = make_distill_run(tmp_path / "run", data)
    assert main(["outputs", str(teacher), str(data), "-o", str(tmp_path / "t.zip")]) == 0
    assert main(["train", str(student), str(data), "-o", str(tmp_path / "a"), "--epochs", "1", "--teacher", str(teacher)]) == 0
    assert main(["train", str(student), str(data), "-o", str(tmp_path / "b"), "--epochs", "1", "--teacher-outputs", str(tmp_path / "t.zip")]) == 0
    ma, ta = read_checkpoint(str(tmp_path / "a" / "last.safetensors"))
    mb, tb = read_checkpoint(str(tmp_path / "b" / "last.safetensors"))
    for k in ta:
        assert rel_err(tb[k], ta[k], 1e-2 if k.startswith("model.") else 1e-12) < 1e-5, k
    for k in ("trainLoss", "trainKd", "agreement", "teacherValWer", "valLoss"):
        assert mb["history"][0][k] == pytest.approx(ma["history"][0][k], rel=1e-5), k
    assert ma["history"][0]["trainKd"] > 0.01 and ma["distillation"]["teacher"]["name"] == "teacher.safetensors"


def test_kind_detection_and_log_probs_as_the_lab():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    lp = torch.log_softmax(torch.tensor(x, dtype=torch.float64), -1).numpy()
    assert row_kind(x, 1e-3)[0] == "logits" and np.abs(to_log_probs(x, "logits") - lp).max() < 1e-6
    assert row_kind(lp.astype(np.float32), 1e-3)[0] == "log_probs"
    p = np.exp(lp).astype(np.float32)
    assert row_kind(p, 1e-3)[0] == "probs" and np.abs(to_log_probs(p, "probs") - lp).max() < 1e-6
    bad = x.copy()
    bad[2, 1] = np.nan
    assert row_kind(bad, 1e-3)[1] == (2, 1)


# ---------------------------------------------------------------- refusals: the file named, nothing written


def refused(capsys, argv, out: Path, message: str):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists(), "nothing may be written on bad input"


@pytest.fixture()
def kd_run(tmp_path):
    data = make_dataset(tmp_path / "ds", n=24, splits=True)
    student, teacher = make_distill_run(tmp_path / "run", data)
    return student, teacher, data


def test_a_distillation_run_without_its_teacher(tmp_path, kd_run, capsys):
    student, teacher, data = kd_run
    out = tmp_path / "out"
    refused(capsys, ["train", str(student), str(data), "-o", str(out)], out, f"{student}: a distillation run (teacher 'teacher.safetensors', a checkpoint): give its teacher, --teacher teacher.safetensors")
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher), "--teacher-outputs", str(data)], out, "give one teacher")


def test_a_teacher_for_a_ctc_run(tmp_path, kd_run, capsys):
    _, teacher, data = kd_run
    out = tmp_path / "out"
    refused(capsys, ["train", str(teacher), str(data), "-o", str(out), "--teacher", str(teacher)], out, f"{teacher}: a CTC run, not a distillation run: --teacher go with")
    refused(capsys, ["train", "--preset", "tcn", str(data), "-o", str(out), "--teacher", str(teacher)], out, "--teacher: distillation continues a lab distillation run")


def test_a_teacher_with_another_vocabulary_or_feature_dim(tmp_path, kd_run, capsys):
    student, _, data = kd_run
    out = tmp_path / "out"
    _, other = make_distill_run(tmp_path / "other", make_dataset(tmp_path / "ds2", n=24, words=("A", "B", "C", "E"), splits=True))
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(other)], out, f"{other}: the teacher's vocabulary differs from the student's (4 vs 4 tokens; first difference at class 4: 'E' vs 'D')")
    _, wide = make_distill_run(tmp_path / "wide", make_dataset(tmp_path / "ds3", n=24, dim=7, splits=True))
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(wide)], out, f"{wide}: the teacher reads 7 feature dims, the student (and its dataset) 5")
    _, renorm = make_distill_run(tmp_path / "renorm", make_dataset(tmp_path / "ds4", n=24, seed=9, splits=True))
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(renorm)], out, f"{renorm}: the teacher was trained with another feature normalisation than the student (mean of dim 0")


def test_not_the_runs_teacher(tmp_path, kd_run, capsys):
    student, _, data = kd_run
    out = tmp_path / "out"
    _, bigger = make_distill_run(tmp_path / "bigger", data, teacher_knobs={"channels": 16})
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(bigger)], out, f"{bigger}: not the run's teacher: the run learned from 'teacher.safetensors' (tcn, channels 8); this file holds a tcn with channels 16")


def test_teacher_frames_that_differ_are_named_with_by_how_much(tmp_path, capsys):
    data = make_dataset(tmp_path / "ds", n=24, splits=True)
    student, teacher = make_distill_run(tmp_path / "run", data, teacher_knobs={"subsampling": 4})
    out = tmp_path / "out"
    from ctc_lab.data import open_dataset

    def ceil_half(n: int) -> int:
        return -(-n // 2)

    ds = open_dataset(str(data))
    s = next(s for s in ds.samples if s.split == "train" and ceil_half(s.frames) != ceil_half(ceil_half(s.frames)))
    t2, t4 = ceil_half(s.frames), ceil_half(ceil_half(s.frames))
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher)], out, f"{teacher}: distillation cannot continue: teacher frames differ from the student's output frames for")
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher)], out, f"{s.id} (teacher {t4}, student {t2}: {t2 - t4} fewer)")
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher)], out, "choose a student with the teacher's time subsampling (×4)")


def edit_outputs(src: Path, dst: Path, vocab=None, array=None) -> Path:
    """The outputs zip extracted to a folder, vocab.txt and every array rewritten by the given functions."""
    with zipfile.ZipFile(src) as z:
        z.extractall(dst)
    if vocab:
        (dst / "vocab.txt").write_text(vocab((dst / "vocab.txt").read_text()))
    if array:
        npz = dict(np.load(dst / "posteriors.npz"))
        np.savez(dst / "posteriors.npz", **{k: array(k, v) for k, v in npz.items()})
    return dst


def test_outputs_that_do_not_fit_the_student(tmp_path, kd_run, capsys):
    student, teacher, data = kd_run
    out = tmp_path / "out"
    assert main(["outputs", str(teacher), str(data), "-o", str(tmp_path / "t.zip")]) == 0
    capsys.readouterr()
    z = tmp_path / "t.zip"

    def run(folder: Path, message: str):
        refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher-outputs", str(folder)], out, message)

    missing = edit_outputs(z, tmp_path / "missing", vocab=lambda v: v.replace("D\n", "X\n"))
    run(missing, f"{missing}: the teacher's outputs have no class for 1 of the student's tokens: D")
    extra = edit_outputs(z, tmp_path / "extra", vocab=lambda v: v + "E\n", array=lambda k, a: np.concatenate([a, np.full((len(a), 1), -30, a.dtype)], 1))
    run(extra, f"{extra}: the teacher's outputs have 1 classes that are not in the student's vocabulary (E)")
    nan = edit_outputs(z, tmp_path / "nan", array=lambda k, a: np.where(np.arange(a.size).reshape(a.shape) == 1, np.nan, a).astype(a.dtype) if k == "s001" else a)
    run(nan, "sample 's001': NaN at frame 0, class 1; a teacher's outputs must be finite")
    narrow = edit_outputs(z, tmp_path / "narrow", array=lambda k, a: a[:, :-1])
    run(narrow, "sample 's000': has 4 classes per frame (shape")
    cut = edit_outputs(z, tmp_path / "cut", array=lambda k, a: a[:-1] if k == "s002" else a)
    run(cut, "teacher frames differ from the student's output frames for 1 of")
    run(cut, "s002 (teacher ")


def test_kd_settings_that_cannot_train(tmp_path, kd_run, capsys):
    student, teacher, data = kd_run
    out = tmp_path / "out"
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher), "--ctc_weight", "0"], out, "leaves the blank with no training signal")
    refused(capsys, ["train", str(student), str(data), "-o", str(out), "--teacher", str(teacher), "--temperature", "0"], out, "temperature must be a number > 0, got 0.0")
