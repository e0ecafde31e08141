#!/usr/bin/python3
"""Writes tiny datasets in the published formats for the reader tests, into the folder given:
    make_data_fixtures.py DIR
DIR/svhn/{train,test}_32x32.mat via scipy.io.savemat (compressed, as MATLAB level 5), and DIR/expected.safetensors
with the images (N, C, H, W uint8) and labels the readers must return."""
import os, sys
import numpy as np, scipy.io, torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st

out = sys.argv[1]
os.makedirs(os.path.join(out, "svhn"), exist_ok=True)
rng = np.random.default_rng(0)
expected = {}
for split, n in (("train", 7), ("test", 5)):
    X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)      # H, W, C, N as SVHN ships it
    y = rng.integers(1, 11, size=(n, 1)).astype(np.float64)            # 10 stands for the digit 0
    scipy.io.savemat(os.path.join(out, "svhn", f"{split}_32x32.mat"), {"X": X, "y": y}, do_compression=(split == "train"))
    expected[f"svhn.{split}.images"] = torch.from_numpy(np.ascontiguousarray(X.transpose(3, 2, 0, 1)))
    expected[f"svhn.{split}.labels"] = torch.from_numpy((y[:, 0] % 10).astype(np.int64))
st.save(expected, os.path.join(out, "expected.safetensors"))
