"""Bad input on the command line: a clear error naming the file and what differs, nothing written."""

from __future__ import annotations

import numpy as np
import pytest

from ctc_lab.__main__ import main
from ctc_lab.checkpoint import read_checkpoint
from ctc_lab.data import open_dataset
from ctc_lab.safetensors_io import encode_safetensors, write_safetensors
from ctc_lab.train import Run

from conftest import make_dataset


@pytest.fixture()
def good(tmp_path):
    data = make_dataset(tmp_path / "ds")
    run = Run.fresh("tcn", open_dataset(str(data)), {"channels": 8, "layers": 1}, {})
    run.save(str(tmp_path / "good.safetensors"))
    return tmp_path / "good.safetensors", data


def refused(capsys, argv, out, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not out.exists(), "nothing may be written on bad input"


def test_not_a_lab_checkpoint(tmp_path, good, capsys):
    _, data = good
    (tmp_path / "plain.safetensors").write_bytes(encode_safetensors({"w": np.zeros(2, np.float32)}, {"format": "pt"}))
    out = tmp_path / "out"
    refused(capsys, ["train", str(tmp_path / "plain.safetensors"), str(data), "-o", str(out)], out, "plain.safetensors: no __metadata__.ctc_lab; not a CTC Lab checkpoint")
    (tmp_path / "junk.safetensors").write_bytes(b"PK\x03\x04 this is a zip")
    refused(capsys, ["outputs", str(tmp_path / "junk.safetensors"), str(data), "-o", str(out)], out, "junk.safetensors: header length")


def test_another_format_version(tmp_path, good, capsys):
    ck, data = good
    meta, tensors = read_checkpoint(str(ck))
    import json

    write_safetensors(str(tmp_path / "v2.safetensors"), tensors, {"ctc_lab": json.dumps({**meta, "format": "ctc-lab/2"})})
    out = tmp_path / "out"
    refused(capsys, ["train", str(tmp_path / "v2.safetensors"), str(data), "-o", str(out)], out, "v2.safetensors: checkpoint format 'ctc-lab/2', expected 'ctc-lab/1'")


def test_missing_tensor(tmp_path, good, capsys):
    ck, data = good
    meta, tensors = read_checkpoint(str(ck))
    import json

    del tensors["model.blocks.0.bias"]
    write_safetensors(str(tmp_path / "cut.safetensors"), tensors, {"ctc_lab": json.dumps(meta)})
    out = tmp_path / "out.zip"
    refused(capsys, ["outputs", str(tmp_path / "cut.safetensors"), str(data), "-o", str(out)], out, "cut.safetensors: tensor model.blocks.0.bias is missing")
    meta2, tensors2 = read_checkpoint(str(ck))
    del tensors2["optim.v.model.head.weight"]
    write_safetensors(str(tmp_path / "noslot.safetensors"), tensors2, {"ctc_lab": json.dumps(meta2)})
    out = tmp_path / "out"
    refused(capsys, ["train", str(tmp_path / "noslot.safetensors"), str(data), "-o", str(out)], out, "noslot.safetensors: optimizer slot optim.v.model.head.weight is missing")


def test_dataset_with_another_feature_dim(tmp_path, good, capsys):
    ck, _ = good
    other = make_dataset(tmp_path / "other", dim=7)
    out = tmp_path / "out"
    refused(capsys, ["train", str(ck), str(other), "-o", str(out)], out, "the dataset has 7 features per frame; the model in")
    refused(capsys, ["outputs", str(ck), str(other), "-o", str(out)], out, "the dataset has 7 features per frame; the model in")


def test_dataset_with_another_vocabulary(tmp_path, good, capsys):
    ck, _ = good
    other = make_dataset(tmp_path / "other", words=("A", "B", "C", "E"), vocab_file=True)
    out = tmp_path / "out"
    refused(capsys, ["train", str(ck), str(other), "-o", str(out)], out, "vocab.txt: the vocabulary (4 tokens) differs from")
    refused(capsys, ["train", str(ck), str(other), "-o", str(out)], out, "first at class 4: 'E' vs 'D'")
    refused(capsys, ["outputs", str(ck), str(other), "-o", str(out)], out, "vocab.txt: the vocabulary (4 tokens) differs from")


def test_a_distillation_run_without_its_teacher_is_refused(tmp_path, good, capsys):
    import json

    ck, data = good
    meta, tensors = read_checkpoint(str(ck))
    meta["distillation"] = {"kdWeight": 1, "ctcWeight": 1, "temperature": 8, "excludeBlank": True, "teacher": {"kind": "checkpoint", "id": "t", "name": "teacher.safetensors"}}
    write_safetensors(str(tmp_path / "kd.safetensors"), tensors, {"ctc_lab": json.dumps(meta)})
    out = tmp_path / "out"
    refused(capsys, ["train", str(tmp_path / "kd.safetensors"), str(data), "-o", str(out)], out, "kd.safetensors: a distillation run (teacher 'teacher.safetensors', a checkpoint): give its teacher, --teacher teacher.safetensors")
