#!/usr/bin/python3
"""Reference: Synergy-of-Experts training steps in PyTorch eager, to set beside a `robust train` SoE epoch's img/s
on the same machine. The model and step are tests/python/soe_reference.py's (written from the official code):
M experts of the CIFAR ResNet at DEPTH, the loss_base objective on the clean batch, PGD-K against the collaboration
(experts in train mode, no random start), the same objective on the adversarial batch, one SGD per expert, the
loss read with .item() per batch. Synthetic inputs shaped like the run's data (random pixels, random labels).
Usage: reference_soe_step.py [CHANNELS SIZE]   (default 1 28: Fashion-MNIST)
Environment: THREADS (2), BATCH (128), EXPERTS (3), DEPTH (8), STEPS (10), ITERS (8 timed steps), REPEATS (3).
Prints the median images/s over the repeats (wall time of ITERS steps, after one warm-up step)."""
import os, statistics, sys, time, torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
import soe_reference as ref

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
channels, size = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1, 28)
batch, experts, depth = int(os.environ.get("BATCH", "128")), int(os.environ.get("EXPERTS", "3")), int(os.environ.get("DEPTH", "8"))
steps, iters, repeats = int(os.environ.get("STEPS", "10")), int(os.environ.get("ITERS", "8")), int(os.environ.get("REPEATS", "3"))
torch.manual_seed(0)
mean, std = torch.full([channels], 0.5), torch.full([channels], 0.25)
model = ref.SoE(experts, depth, 10, channels, mean, std)
optims = [torch.optim.SGD(list(e.parameters()) + list(r.parameters()), lr=0.1, momentum=0.9, weight_decay=1e-4)
          for e, r in zip(model.experts, model.rectifiers)]
x = torch.rand(batch, channels, size, size)
y = torch.randint(0, 10, (batch,))


def step():
    model.train()
    clean, _, _ = model.loss_base(x, y)
    adv = ref.linf_pgd(model, x, y, 0.1, 0.025, steps)
    adv_loss, _, _ = model.loss_base(adv, y)
    for o in optims:
        o.zero_grad()
    loss = clean + adv_loss
    loss.backward()
    for o in optims:
        o.step()
    return loss.item()


step()
rates = []
for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(iters):
        step()
    rates.append(iters * batch / (time.perf_counter() - t))
print(f"pytorch {torch.__version__} eager, {experts} x resnet{depth}, {channels}x{size}x{size}, batch {batch}, PGD-{steps}, {torch.get_num_threads()} threads: "
      f"median {statistics.median(rates):.1f} img/s (repeats: {', '.join(f'{r:.1f}' for r in rates)})")
