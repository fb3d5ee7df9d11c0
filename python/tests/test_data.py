"""The dataset format on its own: manifests, features, splits, vocabulary, batches, sharding."""

from __future__ import annotations

import numpy as np
import pytest

from ctc_lab.batch import make_batch, token_index
from ctc_lab.data import open_dataset
from ctc_lab.errors import CtcLabError
from ctc_lab.loader import bucketed_batches, shard_steps
from ctc_lab.manifest import parse_manifest
from ctc_lab.prepare import assign_splits

from conftest import make_dataset


def test_reads_npy_and_npz_samples_in_manifest_order(tiny_dataset):
    ds = open_dataset(str(tiny_dataset))
    assert [s.id for s in ds.samples] == [f"s{i:03d}" for i in range(24)]
    assert ds.feature_dim == 5 and ds.vocab == ["A", "B", "C", "D"]
    assert {s.split for s in ds.samples} == {"train", "val"}
    assert sum(s.split == "val" for s in ds.samples) == round(24 * 0.1)
    x = ds.load(3)
    assert x.dtype == np.float32 and x.shape == (ds.samples[3].frames, 5)


def test_normalisation_and_padding(tiny_dataset):
    ds = open_dataset(str(tiny_dataset))
    train = ds.split("train")
    allx = np.concatenate([ds.load(s.index) for s in train]).astype(np.float64)
    assert np.allclose(ds.norm["mean"], allx.mean(0)) and np.allclose(ds.norm["std"], allx.std(0))
    b = make_batch(ds, ds.samples[:3], ds.norm, token_index(ds.vocab))
    T = max(s.frames for s in ds.samples[:3])
    assert b.x.shape == (3, T, 5)
    for k, s in enumerate(ds.samples[:3]):
        want = (ds.load(s.index) - np.array(ds.norm["mean"])) / np.array(ds.norm["std"])
        assert np.allclose(b.x[k, : s.frames].numpy(), want, atol=1e-5)
        assert (b.x[k, s.frames :] == 0).all()
        assert b.labels[k, : b.label_lengths[k]].tolist() == [ds.vocab.index(t) + 1 for t in s.text.split()]


def test_split_rule_keeps_given_splits_and_sends_a_tenth_to_val():
    given = ["test", None, "train", None] + [None] * 21
    out = assign_splits(given, 1234)
    assert out[0] == "test" and out[2] == "train"
    assert sum(o == "val" for i, o in enumerate(out) if given[i] is None) == 2  # JS Math.round(2.3)
    assert assign_splits([None] * 25, 5).count("val") == 3  # Math.round(2.5) = 3, Python's round gives 2
    assert assign_splits([None], 5) == ["train"]


def test_nan_samples_are_left_out(tmp_path):
    root = make_dataset(tmp_path / "ds")
    x = np.load(root / "feats" / "s001.npy")
    x[0, 0] = np.nan
    np.save(root / "feats" / "s001.npy", x)
    ds = open_dataset(str(root))
    assert [i for i, _ in ds.left_out] == ["s001"]
    assert "s001" not in [s.id for s in ds.samples] and [s.index for s in ds.samples] == list(range(23))


@pytest.mark.parametrize(
    "text,name,message",
    [
        ('{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "manifest.jsonl", "manifest.jsonl, line 2: duplicate id 'a' \\(first on line 1\\)"),
        ('{"id": "a", "text": "x"}\nnot json\n', "manifest.jsonl", "manifest.jsonl, line 2: not valid JSON"),
        ('{"id": "a", "text": "  "}\n', "manifest.jsonl", "line 1: sample 'a': empty transcript"),
        ('{"id": "a", "text": "x", "split": "dev"}\n', "manifest.jsonl", "split must be train, val or test"),
        ("id\ttext\na\tx\tEXTRA\n", "manifest.tsv", "manifest.tsv, line 2: has 3 columns, the header has 2"),
        ("name\ttext\n", "manifest.tsv", "header row lacks the 'id' column"),
    ],
)
def test_manifest_errors_name_file_and_line(text, name, message):
    with pytest.raises(CtcLabError, match=message):
        parse_manifest(text, name)


def test_feature_errors_name_the_file(tmp_path):
    root = make_dataset(tmp_path / "ds")
    np.save(root / "feats" / "s003.npy", np.zeros((4, 7), np.float32))
    with pytest.raises(CtcLabError, match=r"s003.npy, sample 's003': has 7 features per frame, but .* has 5"):
        open_dataset(str(root))
    np.save(root / "feats" / "s003.npy", np.zeros((4, 5), np.int32))
    with pytest.raises(CtcLabError, match=r"s003.npy: dtype '<i4': only float16, float32 or float64"):
        open_dataset(str(root))
    (root / "feats" / "s003.npy").unlink()
    with pytest.raises(CtcLabError, match=r"manifest.jsonl, line 4: sample 's003': features file 'feats/s003.npy' was not found"):
        open_dataset(str(root))


def test_vocab_file_must_cover_training_tokens(tmp_path):
    root = make_dataset(tmp_path / "ds", vocab_file=True)
    (root / "vocab.txt").write_text("A\nB\nC\n")
    with pytest.raises(CtcLabError, match=r"vocab.txt: token 'D' of training sample '.*' is not in the vocabulary"):
        open_dataset(str(root))


def test_a_zip_reads_like_the_folder(tmp_path):
    import shutil

    root = make_dataset(tmp_path / "ds")
    z = shutil.make_archive(str(tmp_path / "ds"), "zip", root)
    a, b = open_dataset(str(root)), open_dataset(z)
    assert [(s.id, s.split, s.frames) for s in a.samples] == [(s.id, s.split, s.frames) for s in b.samples]
    assert np.array_equal(a.load(5), b.load(5))


def test_bucketed_batches_cover_every_sample_once_and_shards_every_batch_once():
    frames = [int(x) for x in np.random.default_rng(0).integers(1, 100, 203)]
    batches = bucketed_batches(frames, 8, 42, pool_batches=5)
    assert sorted(i for b in batches for i in b) == list(range(203))
    assert batches == bucketed_batches(frames, 8, 42, pool_batches=5) != bucketed_batches(frames, 8, 43, pool_batches=5)
    for world in (1, 2, 3):
        shards = [shard_steps(batches, 2, r, world) for r in range(world)]
        assert len({len(s) for s in shards}) == 1  # every rank makes the same number of steps
        got = sorted(tuple(b) for s in shards for step in s for b in step)
        assert got == sorted(tuple(b) for b in batches)
