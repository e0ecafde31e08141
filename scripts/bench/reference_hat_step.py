#!/usr/bin/python3
"""Reference: HAT training steps (Yan et al. 2022) in PyTorch eager, to set beside a `robust train` HAT epoch's
img/s on the same machine. The model and step are tests/python/hat_reference.py's (written from the official
code): a DnCNN of DEPTH convolutions and FEATURES channels, per-image sigma ~ U[0, 55]/255, the one-step ObsAtk of
level 5 in eval mode with frozen parameters, o = f(y) and f(y_adv) in train mode, the HAT loss, one Adam step, the
loss read with .item() per batch. Synthetic clean patches (random pixels).
Usage: reference_hat_step.py [CHANNELS PATCH]   (default 1 40: the quickstart's gray 40x40 patches)
Environment: THREADS (2), BATCH (64), DEPTH (8), FEATURES (32), ALPHA (1), ITERS (8 timed steps), REPEATS (3),
DEVICE (cpu). Prints the median images/s over the repeats (wall time of ITERS steps, after one warm-up step)."""
import math, os, statistics, sys, time, torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
import hat_reference as ref

torch.set_num_threads(int(os.environ.get("THREADS", "2")))
channels, patch = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1, 40)
batch, depth, features = int(os.environ.get("BATCH", "64")), int(os.environ.get("DEPTH", "8")), int(os.environ.get("FEATURES", "32"))
alpha, iters, repeats = float(os.environ.get("ALPHA", "1")), int(os.environ.get("ITERS", "8")), int(os.environ.get("REPEATS", "3"))
device = os.environ.get("DEVICE", "cpu")
torch.manual_seed(0)
net = ref.DnCNN(depth, features, channels).to(device)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
clean = torch.rand(batch, channels, patch, patch, device=device)
eps = 5 / 255 * math.sqrt(channels * patch * patch)
crit = torch.nn.MSELoss(reduction='sum')


def step():
    sigma = torch.rand(batch, device=device) * 55 / 255
    noisy = torch.clamp(clean + torch.randn_like(clean) * sigma.view(-1, 1, 1, 1), 0, 1)
    net.eval()
    ref.set_requires_grad(net, False)
    adv = ref.obsatk(net, noisy, clean, eps, 1, eps)
    ref.set_requires_grad(net, True)
    net.train()
    opt.zero_grad()
    output = net(noisy)
    loss = (crit(output, clean) / (1 + alpha) + alpha * crit(net(adv) - output, torch.zeros_like(clean)) / (1 + alpha)) / (2 * batch)
    loss.backward()
    opt.step()
    return loss.item()


step()
rates = []
for _ in range(repeats):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    rates.append(iters * batch / (time.perf_counter() - t))
print(f"pytorch {torch.__version__} HAT step, DnCNN depth {depth} x {features}, {channels}x{patch}x{patch}, batch {batch}, "
      f"{torch.get_num_threads()} threads: median {statistics.median(rates):.1f} img/s over {repeats} repeats {[round(r, 1) for r in rates]}")
