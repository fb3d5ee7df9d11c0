"""One process of a run, alone or under torchrun: rank, world size and device (torchrun sets
RANK / WORLD_SIZE / LOCAL_RANK; NCCL on CUDA, else gloo), the collectives training needs, and what
rank 0 alone prints and writes (log lines, a progress bar, TensorBoard)."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


class Dist:
    """Rank, world size and device; torchrun sets RANK / WORLD_SIZE / LOCAL_RANK."""

    def __init__(self, device: str | None):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() and device != "cpu"
        self.device = torch.device(f"cuda:{local}" if use_cuda else "cpu") if device in (None, "cpu", "cuda") else torch.device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.world > 1:
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def all_sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()

    def broadcast(self, obj):
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def log(d: Dist, *msg) -> None:
    if d.main:
        print(*msg, flush=True)


def progress_bar(d: Dist, epoch: int):
    """tqdm when installed, else one line every ~10% of the epoch (rank 0 only)."""
    if not d.main:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    state = {"bar": None, "last": -1}

    def update(i, n, loss, lr):
        if tqdm is not None:
            if state["bar"] is None:
                state["bar"] = tqdm(total=n, desc=f"epoch {epoch}", leave=False)
            state["bar"].update(1)
            state["bar"].set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}")
            if i == n:
                state["bar"].close()
        elif i * 10 // n != state["last"] or i == n:
            state["last"] = i * 10 // n
            print(f"  epoch {epoch} step {i}/{n} loss {loss:.4f} lr {lr:.3e}", flush=True)

    return update


def tensorboard(d: Dist, out_dir: str):
    if not d.main:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(os.path.join(out_dir, "tensorboard"))
