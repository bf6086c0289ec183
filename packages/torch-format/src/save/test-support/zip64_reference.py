"""torch.save of a state dict over 4 GiB, for zip64-compare.ts: a 4200 MiB fp16 tensor (a seeded
1 MiB-element block repeated 2100 times) between two small ones, so that one record is larger
than 0xFFFFFFFF bytes and the next one starts beyond 4 GiB.

  zip64_reference.py <dir>   writes <dir>/torch/huge.bin and <dir>/block.f16 (the block's bytes)
"""
import os
import sys

import torch

out = sys.argv[1]
os.makedirs(os.path.join(out, "torch"), exist_ok=True)
gen = torch.Generator().manual_seed(64)
block = torch.randn(1 << 20, generator=gen).half()
block.numpy().tofile(os.path.join(out, "block.f16"))
sd = {
    "before": torch.randn(3, generator=gen).half(),
    "huge": block.repeat(2100).view(2100, 1 << 20),
    "after": torch.randn(5, generator=gen),
}
torch.save(sd, os.path.join(out, "torch", "huge.bin"))
print(sd["before"].numpy().tobytes().hex(), sd["after"].numpy().tobytes().hex())
