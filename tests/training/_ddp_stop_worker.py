"""Run under torchrun by test_ddp: a stop requested right after a checkpoint step, on every rank."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _train_helpers import tiny_config  # noqa: E402

from ganstudio.training.loop import train  # noqa: E402

cfg = tiny_config("dcgan", steps=100, ckpt_every=2, sample_every=0, batch=8, data=sys.argv[2])
seen = []
for stats in train(cfg, sys.argv[1], stop=lambda: bool(seen) and seen[-1] >= 4):
    seen.append(stats["step"])
Path(sys.argv[1]).with_name(f"rank{os.environ['RANK']}.txt").write_text(str(seen[-1]))
