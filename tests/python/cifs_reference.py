#!/usr/bin/python3
"""CIFS written from the official code (HanshuYAN/CIFS: models/nets/resnet_CIFS.py ResNet_L4 with CSAFRBlock and
CSAFR, models/nets/resnet.py BasicBlock, CIFAR10_Res18_CIFS.py joint_CE_loss and the advertorch LinfPGDAttack it
trains with), generalised to a first-stage width W and C input channels, in float64. Run by the C# tests.

  forward IN OUT    IN: sd.<key>, x, y, width, beta. OUT: in eval mode logits, probe0, probe1; in train mode with
                    y: logits_t, probe0_t, probe1_t, loss (joint_CE_loss(beta)), grad.<param>, sd.<key> after.
  pgd IN OUT STEPS EPS ALPHA JOINT
                    In eval mode with frozen parameters: LinfPGD on joint_CE_loss(beta, is_joint=JOINT) from x
                    (no random start). OUT: adv.
"""
import os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.autograd as autograd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class GlobalAvgFlatten(nn.Module):
    def forward(self, x):
        return F.adaptive_avg_pool2d(x, (1, 1)).view(x.size(0), -1)


class NlBlock(nn.Module):
    def __init__(self, in_planes, planes):
        super().__init__()
        self.global_avg_flatten = GlobalAvgFlatten()
        self.fc = nn.Linear(in_planes, planes)
        self.softplus = nn.Softplus(beta=5)

    def forward(self, x):
        return self.softplus(self.fc(self.global_avg_flatten(x)))


class CSAFR(nn.Module):
    def __init__(self, n_feat, n_cls, mode):
        super().__init__()
        if mode == 'linear':
            self.Probe = nn.Sequential(GlobalAvgFlatten(), nn.Linear(n_feat, n_cls))
        else:
            self.Probe = nn.Sequential(NlBlock(n_feat, 128), nn.Linear(128, n_cls))

    def forward(self, feat, y=None):
        mask = self._get_mask_with_graph(feat, y)
        pred = self.Probe(feat)
        return feat * mask, pred

    def _get_mask_with_graph(self, feat, y=None):
        N, C, _, _ = feat.shape
        feat = feat.detach().clone()
        feat.requires_grad_(True)
        logits = self.Probe(feat)
        pred = logits.topk(k=2, dim=1)[1]
        if not self.training:
            top1 = logits[torch.arange(N), pred[:, 0]].sum()
        else:
            top1 = logits[torch.arange(N), y].sum()
        top2 = logits[torch.arange(N), pred[:, 1]].sum()
        mask = autograd.grad(top1 + top2, feat, create_graph=True)[0]
        mask = F.adaptive_avg_pool2d(mask, (1, 1)) * mask.size(2) * mask.size(3)
        mask = F.softmax(mask.view(N, C), dim=1) * 2
        return mask.view(N, C, 1, 1)


class CSAFRBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, mode, n_cls):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.Probe = CSAFR(planes, n_cls, mode)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x, label=None):
        feat = F.relu(self.bn1(self.conv1(x)))
        feat = self.bn2(self.conv2(feat))
        feat += self.shortcut(x)
        feat = F.relu(feat)
        return self.Probe(feat, label)


class ResNetL4(nn.Module):
    def __init__(self, width=64, channels=3, n_cls=10):
        super().__init__()
        w = width
        self.in_planes = w
        self.conv1 = nn.Conv2d(channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.layer1 = self._layer(w, 1)
        self.layer2 = self._layer(2 * w, 2)
        self.layer3 = self._layer(4 * w, 2)
        self.layer4 = nn.ModuleList([CSAFRBlock(4 * w, 8 * w, 2, 'nonlinear', n_cls), CSAFRBlock(8 * w, 8 * w, 1, 'linear', n_cls)])
        self.linear = nn.Linear(8 * w, n_cls)

    def _layer(self, planes, stride):
        layers = [BasicBlock(self.in_planes, planes, stride), BasicBlock(planes, planes, 1)]
        self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x, y=None):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        preds = []
        for layer in self.layer4:
            out, p = layer(out, y)
            preds.append(p)
        out = F.adaptive_avg_pool2d(out, (1, 1)).view(out.size(0), -1)
        return self.linear(out), preds


def joint_ce(outputs, target, beta, joint=True):
    final, probes = outputs
    loss = 0
    if joint:
        for p in probes:
            loss += F.cross_entropy(p, target)
        loss = (beta / len(probes)) * loss
    loss += F.cross_entropy(final, target)
    return loss * 3 / (beta + 1)


def build(t):
    width = int(t["width"].item())
    channels = t["x"].shape[1]
    net = ResNetL4(width, channels).double()
    net.load_state_dict({k[3:]: v for k, v in t.items() if k.startswith("sd.")}, strict=True)
    return net


def main():
    cmd, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
    t = st.load(src)[0]
    net = build(t)
    x, y = t["x"], t["y"]
    beta = float(t["beta"].item())
    if cmd == "forward":
        net.eval()
        logits, probes = net(x)
        res = {"logits": logits.detach(), "probe0": probes[0].detach(), "probe1": probes[1].detach()}
        net.train()
        net.zero_grad()
        logits, probes = net(x, y)
        loss = joint_ce((logits, probes), y, beta)
        loss.backward()
        res.update({"logits_t": logits.detach(), "probe0_t": probes[0].detach(), "probe1_t": probes[1].detach(), "loss": loss.detach().view(1)})
        for k, p in net.named_parameters():
            res["grad." + k] = p.grad if p.grad is not None else torch.zeros_like(p)
        for k, v in net.state_dict().items():
            res["sd." + k] = v
        st.save(res, out)
    elif cmd == "pgd":
        steps, eps, alpha, joint = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7] == "1"
        net.eval()
        for p in net.parameters():
            p.requires_grad = False
        delta = torch.zeros_like(x, requires_grad=True)
        for _ in range(steps):
            loss = joint_ce(net(x + delta), y, beta, joint)
            loss.backward()
            delta.data = delta.data + alpha * delta.grad.data.sign()
            delta.data = torch.clamp(delta.data, -eps, eps)
            delta.data = torch.clamp(x.data + delta.data, 0, 1) - x.data
            delta.grad.data.zero_()
        st.save({"adv": torch.clamp(x + delta, 0, 1).detach()}, out)


if __name__ == "__main__":
    main()
