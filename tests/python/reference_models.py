"""The two reference models of ../shared/bench/reference_pgd_at.py, with the same attribute (and so
state_dict key) names, for the interop tests."""
import torch, torch.nn as nn, torch.nn.functional as F


class SmallCNN(nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(1, 32, 3); s.c2 = nn.Conv2d(32, 32, 3)
        s.c3 = nn.Conv2d(32, 64, 3); s.c4 = nn.Conv2d(64, 64, 3)
        s.f1 = nn.Linear(64 * 4 * 4, 200); s.f2 = nn.Linear(200, 200); s.f3 = nn.Linear(200, 10)

    def forward(s, x):
        x = F.max_pool2d(F.relu(s.c2(F.relu(s.c1(x)))), 2)
        x = F.max_pool2d(F.relu(s.c4(F.relu(s.c3(x)))), 2)
        x = x.flatten(1)
        return s.f3(F.relu(s.f2(F.relu(s.f1(x)))))


class PreActBlock(nn.Module):
    def __init__(s, i, o, st):
        super().__init__()
        s.bn1 = nn.BatchNorm2d(i); s.conv1 = nn.Conv2d(i, o, 3, st, 1, bias=False)
        s.bn2 = nn.BatchNorm2d(o); s.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        s.sc = nn.Conv2d(i, o, 1, st, bias=False) if st != 1 or i != o else None

    def forward(s, x):
        out = F.relu(s.bn1(x)); sc = s.sc(out) if s.sc is not None else x
        out = s.conv1(out); out = s.conv2(F.relu(s.bn2(out)))
        return out + sc


class PreAct18(nn.Module):
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); layers = []; i = 64
        for o, st in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
            layers.append(PreActBlock(i, o, st)); i = o
        s.layers = nn.Sequential(*layers); s.bn = nn.BatchNorm2d(512); s.fc = nn.Linear(512, 10)

    def forward(s, x):
        out = F.relu(s.bn(s.layers(s.conv1(x))))
        return s.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


class RbPreActBlock(nn.Module):
    """The block of RobustBench's PreActResNet-18 (robustbench/model_zoo/architectures/resnet.py): shortcut is a Sequential."""
    def __init__(s, i, o, st):
        super().__init__()
        s.bn1 = nn.BatchNorm2d(i); s.conv1 = nn.Conv2d(i, o, 3, st, 1, bias=False)
        s.bn2 = nn.BatchNorm2d(o); s.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        if st != 1 or i != o:
            s.shortcut = nn.Sequential(nn.Conv2d(i, o, 1, st, bias=False))

    def forward(s, x):
        out = F.relu(s.bn1(x)); sc = s.shortcut(out) if hasattr(s, "shortcut") else x
        out = s.conv1(out); out = s.conv2(F.relu(s.bn2(out)))
        return out + sc


class RbPreAct18(nn.Module):
    """RobustBench's key layout (conv1, layer1..layer4, bn, linear), with CIFAR-10 normalization kept as buffers
    mu and sigma in the state dict, as several published checkpoints do."""
    def __init__(s):
        super().__init__()
        s.register_buffer("mu", torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        s.register_buffer("sigma", torch.tensor([0.2471, 0.2435, 0.2616]).view(1, 3, 1, 1))
        s.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); i = 64
        for n, (o, st) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            setattr(s, f"layer{n + 1}", nn.Sequential(RbPreActBlock(i, o, st), RbPreActBlock(o, o, 1))); i = o
        s.bn = nn.BatchNorm2d(512); s.linear = nn.Linear(512, 10)

    def forward(s, x):
        out = s.conv1((x - s.mu) / s.sigma)
        out = s.layer4(s.layer3(s.layer2(s.layer1(out))))
        out = F.relu(s.bn(out))
        return s.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


class RbWideBlock(nn.Module):
    """The block of RobustBench's WideResNet (robustbench/model_zoo/architectures/wide_resnet.py)."""
    def __init__(s, i, o, st):
        super().__init__()
        s.bn1 = nn.BatchNorm2d(i); s.conv1 = nn.Conv2d(i, o, 3, st, 1, bias=False)
        s.bn2 = nn.BatchNorm2d(o); s.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        s.equal = i == o
        s.convShortcut = None if s.equal else nn.Conv2d(i, o, 1, st, 0, bias=False)

    def forward(s, x):
        if s.equal:
            out = F.relu(s.bn1(x))
        else:
            x = F.relu(s.bn1(x)); out = x
        out = s.conv2(F.relu(s.bn2(s.conv1(out))))
        return (x if s.equal else s.convShortcut(x)) + out


class RbNetworkBlock(nn.Module):
    def __init__(s, n, i, o, st):
        super().__init__()
        s.layer = nn.Sequential(*[RbWideBlock(i if k == 0 else o, o, st if k == 0 else 1) for k in range(n)])

    def forward(s, x):
        return s.layer(x)


class RbWideResNet(nn.Module):
    """RobustBench's WideResNet layout (conv1, block1..3.layer.N, bn1, fc), here depth 16, width 2."""
    def __init__(s, depth=16, width=2):
        super().__init__()
        n = (depth - 4) // 6; ch = [16, 16 * width, 32 * width, 64 * width]
        s.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
        s.block1 = RbNetworkBlock(n, ch[0], ch[1], 1); s.block2 = RbNetworkBlock(n, ch[1], ch[2], 2); s.block3 = RbNetworkBlock(n, ch[2], ch[3], 2)
        s.bn1 = nn.BatchNorm2d(ch[3]); s.fc = nn.Linear(ch[3], 10)

    def forward(s, x):
        out = F.relu(s.bn1(s.block3(s.block2(s.block1(s.conv1(x))))))
        return s.fc(F.avg_pool2d(out, 8).flatten(1))


MODELS = {"smallcnn": (SmallCNN, (1, 28, 28)), "preact18": (PreAct18, (3, 32, 32)), "preact18-robustbench": (RbPreAct18, (3, 32, 32)),
          "wrn16-2-robustbench": (RbWideResNet, (3, 32, 32))}
