#!/usr/bin/python3
"""Reference: one epoch of PGD adversarial training in PyTorch eager, end to end (data loading, batching, metrics),
to run beside `robust bench`'s epoch figure on the same machine. It trains the quickstart's recipe: SmallCNN on the
first N Fashion-MNIST training images, batch 128, PGD-K (eps 0.1, step 2.5 eps / K, uniform start, model in eval
mode), Adam lr 1e-3, per-batch loss and adversarial accuracy read with .item() (as a training log does), and,
with LOG_CLEAN=1, an extra eval-mode forward per batch for the clean training accuracy.
Usage: reference_train_epoch.py DATA_DIR N STEPS   (DATA_DIR holds train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz])
Environment: THREADS (default 2), LOG_CLEAN (default 1), BATCH (default 128).
Prints images/s of the epoch (wall time of the whole loop)."""
import gzip, os, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(int(os.environ.get('THREADS', '2')))
LOG_CLEAN = os.environ.get('LOG_CLEAN', '1') == '1'
BATCH = int(os.environ.get('BATCH', '128'))
torch.manual_seed(0)

class SmallCNN(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(1, 32, 3); s.c2 = nn.Conv2d(32, 32, 3)
        s.c3 = nn.Conv2d(32, 64, 3); s.c4 = nn.Conv2d(64, 64, 3)
        s.f1 = nn.Linear(64 * 4 * 4, 200); s.f2 = nn.Linear(200, 200); s.f3 = nn.Linear(200, 10)
    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c2(F.relu(s.c1(x)))), 2)
        x = F.max_pool2d(F.relu(s.c4(F.relu(s.c3(x)))), 2)
        return s.f3(F.relu(s.f2(F.relu(s.f1(x.flatten(1))))))

def idx(path):
    p = path if os.path.exists(path) else path + '.gz'
    data = (gzip.open if p.endswith('.gz') else open)(p, 'rb').read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

def main():
    folder, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    images = idx(os.path.join(folder, 'train-images-idx3-ubyte'))[:n]
    labels = idx(os.path.join(folder, 'train-labels-idx1-ubyte'))[:n].astype(np.int64)
    eps = 0.1; alpha = 2.5 * eps / k
    model = SmallCNN(); opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t = time.perf_counter()
    order = np.random.default_rng(0).permutation(n)
    loss_sum = correct = clean_correct = 0
    for b in range(0, n, BATCH):
        idxs = order[b:b + BATCH]
        x = torch.from_numpy(images[idxs].astype(np.float32) / 255).unsqueeze(1)
        y = torch.from_numpy(labels[idxs])
        if LOG_CLEAN:
            model.eval()
            with torch.no_grad(): clean_correct += (model(x).argmax(1) == y).sum().item()
        model.eval()
        adv = (x + (torch.rand_like(x) * 2 - 1) * eps).clamp(0, 1)
        for _ in range(k):
            adv.requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(model(adv), y), adv)
            adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
        model.train()
        out = model(adv); loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        loss_sum += loss.item() * len(idxs); correct += (out.argmax(1) == y).sum().item()
    dt = time.perf_counter() - t
    print(f"smallcnn epoch n={n} bs={BATCH} pgd{k} log_clean={int(LOG_CLEAN)} threads={torch.get_num_threads()} "
          f"loss={loss_sum / n:.4f} images/s={n / dt:.1f}")

if __name__ == "__main__":
    main()
