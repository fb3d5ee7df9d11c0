"""`python -m ctc_lab.torchrun …` = `torchrun …`, for torch < 2.0 under Python ≥ 3.11 (Debian
bookworm's python3-torch 1.13): there torchrun's Std.from_str("0") returns None (Python 3.11 no
longer iterates the zero member of an IntFlag) and every launch fails with "'NoneType' object
has no attribute 'get'". This patches that one function, then runs torchrun's own main."""

from __future__ import annotations

import re
import sys

from torch.distributed.elastic.multiprocessing import api
from torch.distributed.run import main

_Std = api.Std


def _from_str(vm: str):
    if re.match(api._VALUE_REGEX, vm):
        return _Std(int(vm))
    if re.match(api._MAPPING_REGEX, vm):
        return {int(i): _Std(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
    raise ValueError(f"{vm} does not match: <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")


if _Std.from_str("0") is None:
    _Std.from_str = staticmethod(_from_str)

if __name__ == "__main__":
    sys.exit(main())
