#!/usr/bin/python3
"""Reference: GAT training steps (Ghamizi, Zhang et al. 2023) in PyTorch eager, to set beside a `robust train` GAT
epoch's img/s on the same machine. The model and step are tests/python/gat_reference.py's (written from the
official taskaugment code): the multi-task ResNet-18 of first-stage WIDTH channels (stem padding 3), the jigsaw then
rotation transformation of the batch (numpy draws, as the official code), MTPGD-STEPS on the main task's BCE in eval
mode from a uniform start, the adversarial and clean train-mode passes, the loss terms, the curvature term when
CURVATURE > 0 (two more passes and a double backward), EW or MGDA backward, one Adam step, the loss read with
.item(). Synthetic images (random pixels) and labels.
Usage: reference_gat_step.py [CHANNELS SIZE]   (default 1 28: Fashion-MNIST)
Environment: THREADS (2), BATCH (64), WIDTH (16), STEPS (10), EPS (0.1), ALPHA (0.0125), TASKS (rotation,jigsaw),
WEIGHTING (mgda|ew), CURVATURE (0), ITERS (6 timed steps), REPEATS (3), DEVICE (cpu).
Prints the median images/s over the repeats (wall time of ITERS steps, after one warm-up step)."""
import os, statistics, sys, time
import numpy as np
import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
import gat_reference as ref

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
channels, size = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1, 28)
env = os.environ.get
batch, width, steps = int(env("BATCH", "64")), int(env("WIDTH", "16")), int(env("STEPS", "10"))
eps, alpha, c = float(env("EPS", "0.1")), float(env("ALPHA", "0.0125")), float(env("CURVATURE", "0"))
tasks = [t for t in ["macro", "jigsaw", "rotation"] if t in env("TASKS", "rotation,jigsaw").split(",")]
mgda = env("WEIGHTING", "mgda") == "mgda"
iters, repeats, device = int(env("ITERS", "6")), int(env("REPEATS", "3")), env("DEVICE", "cpu")
torch.manual_seed(0)
np.random.seed(0)
heads = [("main", 10)] + [(t, {"macro": 3, "jigsaw": 10, "rotation": 4}[t]) for t in tasks]
net = ref.MTResnet(width, channels, heads).to(device)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.rand(batch, channels, size, size, device=device)
y = torch.randint(0, 10, (batch,), device=device)
perms = np.array([np.random.permutation(16) for _ in range(9)])


def step():
    images, labels = x, {"main": ref.onehot(y, 10, torch.float32)}
    if "macro" in tasks:
        labels["macro"] = ref.onehot(y % 3, 3, torch.float32)
    if "jigsaw" in tasks:
        orders = np.array([0 if np.random.rand() > 0.9 else np.random.randint(10) for _ in range(batch)])
        images = ref.jigsaw(images, perms, orders)
        labels["jigsaw"] = ref.onehot(torch.tensor(orders, device=device), 10, torch.float32)
    if "rotation" in tasks:
        rot = torch.tensor(np.random.permutation([0, 1, 2, 3] * (batch // 4 + 1))[:batch], device=device)
        images = ref.rotation(images, rot)
        labels["rotation"] = ref.onehot(rot, 4, torch.float32)
    terms, _, _ = ref.train_step(net, opt, images, labels, tasks, steps, eps, alpha, False,
                                 {"jigsaw": 1.0, "rotation": 1.0}, c, mgda, random_start=True)
    sum(l for _, l in terms).item()


step()
rates = []
for _ in range(repeats):
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    rates.append(iters * batch / (time.perf_counter() - t0))
print(f"{statistics.median(rates):.1f}")
