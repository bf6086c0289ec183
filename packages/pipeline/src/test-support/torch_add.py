"""a + b as torch 1.13.1 computes it in place on the CPU (FastChat's `param.data += delta`).

  torch_add.py <float16|float32> <a file> <b file> <out file>
      the files hold raw little-endian elements; out = (a += b), raw
"""
import sys

import numpy as np
import torch

dtype = {"float16": (np.float16, torch.float16), "float32": (np.float32, torch.float32)}[sys.argv[1]]
a = torch.from_numpy(np.fromfile(sys.argv[2], dtype=dtype[0]).copy())
b = torch.from_numpy(np.fromfile(sys.argv[3], dtype=dtype[0]).copy())
a += b
a.numpy().tofile(sys.argv[4])
