#!/usr/bin/python3
"""Regenerates tests/fixtures/attacks.safetensors: attacks and training losses computed by PyTorch on a tiny
fixed model, following the reference implementations (Madry PGD, TRADES, MART, CW margin, MI-FGSM):
    /usr/bin/python3 tests/python/make_attack_fixtures.py
Random starts draw from the global generator after torch.manual_seed, the same libtorch stream RobustCli uses."""
import os, sys
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "attacks.safetensors")
torch.manual_seed(21)


class Tiny(nn.Module):
    """Flatten -> Linear(36, 16) -> ReLU -> Linear(16, 4); keys fc1.*, fc2.*."""
    def __init__(s):
        super().__init__()
        s.fc1 = nn.Linear(36, 16); s.fc2 = nn.Linear(16, 4)

    def forward(s, x):
        return s.fc2(F.relu(s.fc1(x.flatten(1))))


model = Tiny().eval()
x = torch.rand(8, 1, 6, 6)
y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
out = {"fc1.weight": model.fc1.weight.detach(), "fc1.bias": model.fc1.bias.detach(),
       "fc2.weight": model.fc2.weight.detach(), "fc2.bias": model.fc2.bias.detach(), "x": x, "y": y}


def project(xa, x0, eps):
    return (x0 + (xa - x0).clamp(-eps, eps)).clamp(0, 1)


def grad_of(loss_fn, xa):
    xa = xa.detach().requires_grad_(True)
    g, = torch.autograd.grad(loss_fn(model(xa)), [xa])
    return g


def pgd(eps, alpha, steps, start, loss_fn):
    if start == "uniform":
        xa = (x + (torch.rand_like(x) * 2 - 1) * eps).clamp(0, 1)
    elif start == "normal":
        xa = (x + torch.randn_like(x) * 0.001).clamp(0, 1)
    else:
        xa = x.clone()
    for _ in range(steps):
        g = grad_of(loss_fn, xa)
        xa = project(xa.detach() + alpha * g.sign(), x, eps)
    return xa


def cw_loss(logits, kappa=50.0):
    onehot = F.one_hot(y, 4).float()
    correct = (logits * onehot).sum(1)
    other = (logits - onehot * 10000).max(1)[0]
    return -torch.clamp(correct - other + kappa, min=0).sum()


ce = lambda z: F.cross_entropy(z, y)
with torch.no_grad():
    nat = model(x)
kl = lambda z: F.kl_div(F.log_softmax(z, 1), F.softmax(nat, 1), reduction="sum")

out["fgsm"] = project(x + 0.1 * grad_of(ce, x).sign(), x, 0.1)
torch.manual_seed(1)
out["pgd_uniform"] = pgd(0.1, 0.025, 5, "uniform", ce)
out["pgd_none"] = pgd(0.1, 0.025, 5, "none", ce)
out["cw"] = pgd(0.1, 0.02, 5, "none", cw_loss)
torch.manual_seed(2)
out["trades_kl"] = pgd(0.1, 0.02, 5, "normal", kl)

# PGD-L2 (torchattacks' step and projection), no random start.
xa = x.clone()
for _ in range(5):
    g = grad_of(ce, xa)
    gn = g.flatten(1).norm(p=2, dim=1).view(-1, 1, 1, 1) + 1e-10
    xa = xa.detach() + 0.1 * g / gn
    d = xa - x
    dn = d.flatten(1).norm(p=2, dim=1).view(-1, 1, 1, 1).clamp(min=1e-12)
    xa = (x + d * torch.clamp(0.5 / dn, max=1.0)).clamp(0, 1)
out["pgd_l2"] = xa

# MI-FGSM: momentum over per-sample L1-normalised gradients.
xa, mom = x.clone(), torch.zeros_like(x)
for _ in range(5):
    g = grad_of(ce, xa)
    mom = mom * 1.0 + g / g.abs().flatten(1).sum(1).view(-1, 1, 1, 1).clamp(min=1e-12)
    xa = project(xa.detach() + 0.02 * mom.sign(), x, 0.1)
out["mifgsm"] = xa

# FAT's early-stopped PGD (Zhang et al. 2020, earlystop.py semantics, kept in input order): each sample may take
# tau more steps once misclassified, then stops moving. omega = 0 and no random start keep it deterministic.
def friendly(eps, alpha, steps, tau):
    xa = x.clone()
    budget = torch.full((x.shape[0],), tau)
    active = torch.ones(x.shape[0], dtype=torch.bool)
    for _ in range(steps):
        xg = xa.detach().requires_grad_(True)
        logits = model(xg)
        g, = torch.autograd.grad(ce(logits), [xg])
        wrong = logits.argmax(1) != y
        active = active & ~(wrong & (budget <= 0))
        budget = budget - (wrong & active).long()
        moved = project(xa + alpha * g.sign(), x, eps)
        xa = torch.where(active.view(-1, 1, 1, 1), moved, xa)
    return xa
out["fat_tau0"] = friendly(0.3, 0.05, 8, 0)
out["fat_tau2"] = friendly(0.3, 0.05, 8, 2)

# Training losses on fixed logits (gradients flow through both in training; values are compared here).
zn, za = torch.randn(8, 4), torch.randn(8, 4)
out["loss.natural"], out["loss.adversarial"] = zn, za
out["loss.cw"] = cw_loss(za)
out["loss.trades"] = F.cross_entropy(zn, y) + 6.0 * F.kl_div(F.log_softmax(za, 1), F.softmax(zn, 1), reduction="sum") / 8
adv_probs = F.softmax(za, dim=1)
tmp1 = torch.argsort(adv_probs, dim=1)[:, -2:]
new_y = torch.where(tmp1[:, -1] == y, tmp1[:, -2], tmp1[:, -1])
loss_adv = F.cross_entropy(za, y) + F.nll_loss(torch.log(1.0001 - adv_probs + 1e-12), new_y)
nat_probs = F.softmax(zn, dim=1)
true_probs = torch.gather(nat_probs, 1, y.unsqueeze(1).long()).squeeze()
loss_robust = (1.0 / 8) * torch.sum(torch.sum(nn.KLDivLoss(reduction="none")(torch.log(adv_probs + 1e-12), nat_probs), dim=1) * (1.0000001 - true_probs))
out["loss.mart"] = loss_adv + 6.0 * loss_robust
# One whole training step of PGD-AT and of TRADES (attack in eval mode, SGD step in train mode) on a copy of the
# tiny model, from seeded random starts: the weights after the step.
import copy
def train_step(method, seed):
    m = copy.deepcopy(model)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    global_model = m
    def g(loss_fn, xa):
        xa = xa.detach().requires_grad_(True)
        gr, = torch.autograd.grad(loss_fn(global_model(xa)), [xa])
        return gr
    torch.manual_seed(seed)
    m.eval()
    if method == "pgd-at":
        xa = (x + (torch.rand_like(x) * 2 - 1) * 0.1).clamp(0, 1)
        for _ in range(3):
            xa = project(xa.detach() + 0.05 * g(lambda z: F.cross_entropy(z, y), xa).sign(), x, 0.1)
        m.train()
        loss = F.cross_entropy(m(xa), y)
    else:
        with torch.no_grad():
            nat_logits = m(x)
        xa = (x + torch.randn_like(x) * 0.001).clamp(0, 1)
        for _ in range(3):
            kl_fn = lambda z: F.kl_div(F.log_softmax(z, 1), F.softmax(nat_logits, 1), reduction="sum")
            xa = project(xa.detach() + 0.05 * g(kl_fn, xa).sign(), x, 0.1)
        m.train()
        zn, za = m(x), m(xa)
        loss = F.cross_entropy(zn, y) + 6.0 * F.kl_div(F.log_softmax(za, 1), F.softmax(zn, 1), reduction="sum") / x.shape[0]
    opt.zero_grad(); loss.backward(); opt.step()
    for k, v in m.state_dict().items():
        out[f"{method}_step.{k}"] = v.detach().clone()
    out[f"{method}_step.loss"] = loss.detach()
train_step("pgd-at", 5)
train_step("trades", 6)

# APGD's DLR losses (autoattack/autopgd_base.py) on fixed logits.
zd, target = torch.randn(8, 10), torch.tensor([3, 0, 9, 1, 2, 2, 7, 5])
yd = torch.tensor([0, 0, 1, 9, 2, 3, 4, 5])
zd[1, 0] = 5.0  # a sample whose true class is the top logit
xs, ind_sorted = zd.sort(dim=1)
ind = (ind_sorted[:, -1] == yd).float()
u = torch.arange(8)
out["dlr.logits"], out["dlr.y"], out["dlr.target"] = zd, yd, target
out["dlr.untargeted"] = -(zd[u, yd] - xs[:, -2] * ind - xs[:, -1] * (1. - ind)) / (xs[:, -1] - xs[:, -3] + 1e-12)
out["dlr.targeted"] = -(zd[u, yd] - zd[u, target]) / (xs[:, -1] - .5 * (xs[:, -3] + xs[:, -4]) + 1e-12)

st.save(out, OUT)
print(f"{len(out)} tensors -> {os.path.normpath(OUT)}")
