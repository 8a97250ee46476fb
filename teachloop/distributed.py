"""Several training processes (`accelerate launch` / `torchrun`): who writes, and how the batch
travels. teachloop adds no distributed layer of its own: accelerate sets up the process group
(gloo on CPU, NCCL on GPU), TRL/accelerate average the gradients, and this module only answers
"am I rank 0?" and hands rank 0's objects to the other ranks with torch.distributed.

Rank 0 runs the curriculum (so an LLM teacher is asked once, not once per process), writes the run
dir and saves checkpoints; every rank trains and evaluates its share. With one process every
function here is a no-op and nothing imports torch.distributed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

TRACE_ENV = "TEACHLOOP_RANK_TRACE"


def world_size() -> int:
    return max(1, int(os.environ.get("WORLD_SIZE", "1")))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_writer() -> bool:
    """Rank 0 (or the only process): the one that writes the run dir."""
    return rank() == 0


def init() -> None:
    """Join the process group the launcher prepared (accelerate picks the backend)."""
    if world_size() > 1:
        from accelerate import PartialState

        PartialState()


def broadcast(obj: T) -> T:
    """Rank 0's `obj` on every rank (other ranks pass anything, e.g. None)."""
    if world_size() == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if world_size() > 1:
        import torch.distributed as dist

        dist.barrier()


def trace(round: int, batch_ids: list[str], model: Any, steps: float) -> None:
    """With $TEACHLOOP_RANK_TRACE=DIR, every rank appends what it trained on and the weights it holds
    after the round to DIR/rank_R.jsonl: how a test (or a user) checks that all ranks trained the
    same batch and hold the same student."""
    folder = os.environ.get(TRACE_ENV)
    if not folder:
        return
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    row = {"rank": rank(), "round": round, "batch": sorted(batch_ids), "weights": h.hexdigest(), "steps": steps}
    path = Path(folder) / f"rank_{rank()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
