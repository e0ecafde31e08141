#!/usr/bin/python3
"""Synergy-of-Experts written from the official code (cuis15/synergy-of-experts: models/model_rectified_v2.py
MoeLike with train_type="loss_base", ppd_type="simple"; models/learn_rectified_v2.py Learning.train with
plus_at_type="together"; distillation.py Linf_PGD), in float64, with RobustCli's key names:
experts.{m}.<CIFAR ResNet keys>, rectifiers.{m}.{weight,bias}. Run by the C# tests with Debian's python3-torch.

  forward IN OUT        IN: sd.<key> (state dict), x, y, mean, std (float64). OUT, in eval mode: logits (the
                        selected expert's), expert{m}, ensemble, scores; in train mode on the same batch: the
                        loss_base objective's total, main and aux and grad.<param> of the total.
  step IN OUT EPS ALPHA STEPS STEPS_TAKEN
                        STEPS_TAKEN training steps as Learning.train does them: clean forward, PGD on the
                        collaboration (experts in train mode, no random start), adversarial forward, backward of
                        the summed losses, one SGD (lr 0.1, momentum 0.9, weight decay 1e-4) per expert.
                        The batch k is x{k}, y{k}. OUT: sd.<key> after the steps, adv0 (the first adversarial batch).
"""
import math, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    """ResNet_Aux's trunk and fc (depth 6n+2, BasicBlock), normalizing inside as the ModelWrapper does."""
    def __init__(self, depth, classes, channels, mean, std):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(Block(cin, planes, stride if i == 0 else 1))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)

    def features(self, x):
        x = (x - self.mean) / self.std
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return F.adaptive_avg_pool2d(h, 1).flatten(1)


class SoE(nn.Module):
    def __init__(self, experts, depth, classes, channels, mean, std):
        super().__init__()
        self.experts = nn.ModuleList([CifarResNet(depth, classes, channels, mean, std) for _ in range(experts)])
        self.rectifiers = nn.ModuleList([nn.Linear(64, 1) for _ in range(experts)])

    def outputs_all(self, x):
        # (logits, aux) per expert, as ResNet_Aux.forward(if_attack=False) returns them.
        res = []
        for e, r in zip(self.experts, self.rectifiers):
            f = e.features(x)
            res.append((e.fc(f), r(f)))
        return res

    def forward(self, x):
        # MoeLike.forward(if_attack=True), loss_base: the expert with the highest max-softmax x sigmoid(aux) answers.
        outs = self.outputs_all(x)
        logits = [o[0] for o in outs]
        con = [torch.softmax(z, dim=1).max(1)[0] for z in logits]
        aux = [o[1].sigmoid().squeeze(1) for o in outs]
        det = torch.stack([c * a for c, a in zip(con, aux)], dim=0)
        idx = torch.argmax(det, dim=0).detach()
        flat = idx * x.size(0) + torch.arange(x.size(0))
        return torch.index_select(torch.cat(logits, dim=0), 0, flat)

    def scores(self, x):
        outs = self.outputs_all(x)
        return torch.stack([torch.softmax(z, 1).max(1)[0] * a.sigmoid().squeeze(1) for z, a in outs], dim=1)

    def loss_base(self, x, y, lam=1.0, temp_c=1.0, temp_true=1.0):
        # MoeLike.forward(if_attack=False), "adaptative training" branch.
        outs = self.outputs_all(x)
        logits = [o[0] for o in outs]
        con = [torch.softmax(z, dim=1).max(1)[0] for z in logits]
        aux = [o[1].sigmoid().squeeze(1) for o in outs]
        con_y = [torch.softmax(z * temp_true, dim=1)[torch.arange(x.size(0)), y].detach() for z in logits]
        correct = [torch.where(z.max(1)[1] == y)[0] for z in logits]
        for i in range(len(logits)):
            con[i][correct[i]] = con[i][correct[i]].detach()
        det = [con[i] * aux[i] for i in range(len(logits))]
        bce = nn.BCELoss(reduction="none")
        aux_loss = torch.mean(torch.stack([bce(det[i], con_y[i]) for i in range(len(logits))]))
        losses = torch.stack([F.nll_loss(F.log_softmax(z, 1), y, reduction="none") for z in logits])
        main = torch.mean(torch.sum(torch.softmax(torch.stack(det) * temp_c, dim=0).detach() * losses, dim=0))
        return main + lam * aux_loss, main, aux_loss


def linf_pgd(model, x, y, eps, alpha, steps):
    # distillation.Linf_PGD with rand_start=False, CE on the collaboration's output.
    x_nat = x.clone().detach()
    x_adv = torch.clamp(x.clone().detach(), 0.0, 1.0)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)
        grad, = torch.autograd.grad(loss, x_adv)
        with torch.no_grad():
            x_adv = x_adv + alpha * grad.sign()
            x_adv = torch.max(torch.min(x_adv, x_nat + eps), x_nat - eps)
            x_adv = torch.clamp(x_adv, 0.0, 1.0)
    return x_adv.detach()


def build(t):
    sd = {k[3:]: v for k, v in t.items() if k.startswith("sd.")}
    experts = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("experts."))
    blocks = sum(1 for k in sd if k.startswith("experts.0.layer1.") and k.endswith(".conv1.weight"))
    classes, channels = sd["experts.0.fc.weight"].shape[0], sd["experts.0.conv1.weight"].shape[1]
    model = SoE(experts, 6 * blocks + 2, classes, channels, t["mean"], t["std"]).double()
    model.load_state_dict(sd)
    return model


def main():
    torch.set_default_dtype(torch.float64)
    cmd, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
    t = st.load(src)[0]
    model = build(t)
    if cmd == "forward":
        x, y = t["x"], t["y"]
        res = {}
        model.eval()
        with torch.no_grad():
            outs = model.outputs_all(x)
            res["logits"] = model(x)
            for m, (z, _) in enumerate(outs):
                res["expert%d" % m] = z
            mean = torch.mean(torch.stack([torch.softmax(z, 1) for z, _ in outs]), dim=0)
            res["ensemble"] = torch.log(torch.clamp(mean, min=1e-40))
            res["scores"] = model.scores(x)
        model.train()
        total, main_loss, aux = model.loss_base(x, y)
        total.backward()
        res["loss_total"], res["loss_main"], res["loss_aux"] = total.reshape(1), main_loss.reshape(1), aux.reshape(1)
        for k, p in model.named_parameters():
            res["grad." + k] = p.grad
        st.save(res, out)
    elif cmd == "step":
        eps, alpha, steps, taken = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
        optims = [torch.optim.SGD(list(e.parameters()) + list(r.parameters()), lr=0.1, momentum=0.9, weight_decay=1e-4)
                  for e, r in zip(model.experts, model.rectifiers)]
        res = {}
        for k in range(taken):
            x, y = t["x%d" % k], t["y%d" % k]
            model.train()
            clean, _, _ = model.loss_base(x, y)
            adv = linf_pgd(model, x, y, eps, alpha, steps)
            perm = torch.randperm(adv.size(0))
            adv_loss, _, _ = model.loss_base(adv[perm], y[perm])
            for o in optims:
                o.zero_grad()
            (clean + adv_loss).backward()
            for o in optims:
                o.step()
            if k == 0:
                res["adv0"] = adv
        for k, v in model.state_dict().items():
            res["sd." + k] = v
        st.save(res, out)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
