#!/usr/bin/python3
"""GAT written from the official code (yamizi/taskaugment, branch icml23: utils/imgtransformation_tasks.py,
utils/multitask_models.py ResNetEncoder + Decoder, utils/attacks/pgd.py MTPGD, utils/train_utils.py batch_losses and
train_epoch, utils/multitask_losses.py, utils/weights/weighting/MGDA.py and LibMTL's AbsWeighting backward), with the
encoder's widths [W, 2W, 4W, 8W] and C input channels, in float64. Run by the C# tests.

  transforms IN OUT   IN: x, rot, jig, perms. OUT: rotated (rotation() with the given labels), shuffled (jigsaw()
                      with the given orders), both (jigsaw, then rotation, as init_batch_labels).
  mgda IN OUT         IN: grads [T, P]. OUT: sol (_find_min_norm_element; the last iterate if it runs out).
  curvature IN OUT    IN: sd.*, x, y, l2, width, task2. OUT: r, grad.<param> (R's gradient: a double backward).
  init PT W C          Saves an official MTResnet's state dict (torch.save; heads main, macro, jigsaw, rotation) and
                      PT.io.safetensors with x and the eval-mode outputs.
  check PT IO W C     Loads our PT strictly into the official MTResnet (heads read from the keys) and adds out_py
                      (the main task's eval-mode logits on IO's x) to IO.
  step IN OUT         IN: sd.*, x (transformed), y, lab.<task>, width, tasks, weighting, curvature, steps, eps,
                      alpha, lr, momentum, wd, algorithm, rot_w, jig_w[, random_start]. One train_epoch iteration:
                      MTPGD on the main BCE or TRADES' KL (eval mode; a uniform start with random_start), adversarial then clean forward in train mode, batch_losses,
                      the curvature term, EW or MGDA backward, one SGD step. OUT: sd.* after, loss.<term>, w, adv.
"""
import os, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st


# ----- utils/imgtransformation_tasks.py, with the random draws given -----

def split_image(image, N):
    batches = []
    for i in list(torch.split(image, N, dim=1)):
        batches.extend(list(torch.split(i, N, dim=2)))
    return batches


def concat(batches, num=4):
    rows = [torch.cat(batches[num * j:num * (j + 1)], dim=2) for j in range(len(batches) // num)]
    return torch.cat(rows, dim=1)


def rotation(inp, target):
    image = torch.zeros_like(inp)
    image.copy_(inp)
    for i in range(inp.shape[0]):
        image[i] = torch.rot90(inp[i], int(target[i]), [1, 2])
    return image


def jigsaw(inp, permutation, orders):
    img_size = inp.size(-1)
    N = int(img_size / np.sqrt(permutation.shape[1]))
    out = torch.zeros_like(inp)
    for idx in range(inp.size(0)):
        batches = split_image(inp[idx], N)
        order = int(orders[idx])
        new = batches if order == 0 else [batches[permutation[order - 1][j]] for j in range(permutation.shape[1])]
        out[idx] = concat(new, img_size // N)
    return out


# ----- utils/weights/weighting/MGDA.py -----

def min_norm_element_from2(v1v1, v1v2, v2v2):
    if v1v2 >= v1v1:
        return 0.999, v1v1
    if v1v2 >= v2v2:
        return 0.001, v2v2
    gamma = -1.0 * ((v1v2 - v2v2) / (v1v1 + v2v2 - 2 * v1v2))
    return gamma, v2v2 + gamma * (v1v2 - v2v2)


def find_min_norm_element(grads):
    def min_norm_2d(grad_mat):
        dmin = float("inf")  # the official 1e8 would leave sol unset for large gradients
        for i in range(grad_mat.size()[0]):
            for j in range(i + 1, grad_mat.size()[0]):
                c, d = min_norm_element_from2(grad_mat[i, i], grad_mat[i, j], grad_mat[j, j])
                if d < dmin:
                    dmin = d
                    sol = [(i, j), c, d]
        return sol

    def projection2simplex(y):
        m = len(y)
        sorted_y = torch.sort(y, descending=True)[0]
        tmpsum = 0.0
        tmax_f = (torch.sum(y) - 1.0) / m
        for i in range(m - 1):
            tmpsum += sorted_y[i]
            tmax = (tmpsum - 1) / (i + 1.0)
            if tmax > sorted_y[i + 1]:
                tmax_f = tmax
                break
        return torch.max(y - tmax_f, torch.zeros(m, dtype=y.dtype))

    def next_point(cur_val, grad, n):
        proj_grad = grad - (torch.sum(grad) / n)
        tm1 = -1.0 * cur_val[proj_grad < 0] / proj_grad[proj_grad < 0]
        tm2 = (1.0 - cur_val[proj_grad > 0]) / (proj_grad[proj_grad > 0])
        t = torch.ones(1, dtype=grad.dtype)
        if (tm1 > 1e-7).sum() > 0:
            t = torch.min(tm1[tm1 > 1e-7])
        if (tm2 > 1e-7).sum() > 0:
            t = torch.min(t, torch.min(tm2[tm2 > 1e-7]))
        return projection2simplex(proj_grad * t + cur_val)

    grad_mat = grads.mm(grads.t())
    init_sol = min_norm_2d(grad_mat)
    n = grads.size()[0]
    sol_vec = torch.zeros(n, dtype=grads.dtype)
    sol_vec[init_sol[0][0]] = init_sol[1]
    sol_vec[init_sol[0][1]] = 1 - init_sol[1]
    if n < 3:
        return sol_vec
    for _ in range(250):
        grad_dir = -1.0 * torch.matmul(grad_mat, sol_vec)
        new_point = next_point(sol_vec, grad_dir, n)
        v1v1 = torch.sum(sol_vec.unsqueeze(1).repeat(1, n) * sol_vec.unsqueeze(0).repeat(n, 1) * grad_mat)
        v1v2 = torch.sum(sol_vec.unsqueeze(1).repeat(1, n) * new_point.unsqueeze(0).repeat(n, 1) * grad_mat)
        v2v2 = torch.sum(new_point.unsqueeze(1).repeat(1, n) * new_point.unsqueeze(0).repeat(n, 1) * grad_mat)
        nc, nd = min_norm_element_from2(v1v1, v1v2, v2v2)
        new_sol_vec = nc * sol_vec + (1 - nc) * new_point
        if torch.sum(torch.abs(new_sol_vec - sol_vec)) < 1e-5:
            return sol_vec
        sol_vec = new_sol_vec
    return sol_vec  # the official loop returns None here


# ----- utils/multitask_models.py (ResNet-18: BasicBlock [2, 2, 2, 2]; img_size 32 stem) -----

def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNetEncoder(nn.Module):
    def __init__(self, widths, channels):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(channels, self.inplanes, 3, 1, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = self._make_layer(widths[0], 2)
        self.layer2 = self._make_layer(widths[1], 2, 2)
        self.layer3 = self._make_layer(widths[2], 2, 2)
        self.layer4 = self._make_layer(widths[3], 2, 2)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Decoder(nn.Module):
    def __init__(self, base_match, num_classes):
        super().__init__()
        self.fc = nn.Linear(base_match, num_classes)

    def forward(self, rep):
        return self.fc(F.adaptive_avg_pool2d(rep, (1, 1)).view(rep.size(0), -1))


KEYS = {"main": "class_object#multilabel", "macro": "class_object#macro", "jigsaw": "jigsaw", "rotation": "rotation"}


class MTResnet(nn.Module):
    def __init__(self, width, channels, heads):
        super().__init__()
        self.encoder = ResNetEncoder([width, 2 * width, 4 * width, 8 * width], channels)
        self.task_to_decoder = nn.ModuleDict({KEYS[t]: Decoder(8 * width, c) for t, c in heads})

    def forward(self, x):
        rep = self.encoder(x)
        out = {"rep": rep}
        for task, decoder in self.task_to_decoder.items():
            out[task] = decoder(rep)
        return out


def build(t):
    sd = {k[3:]: v for k, v in t.items() if k.startswith("sd.")}
    width = int(t["width"].item())
    net = MTResnet(width, t["x"].shape[1], heads_of(sd)).double()
    net.load_state_dict(sd, strict=True)
    return net


# ----- losses (utils/multitask_losses.py, utils/train_utils.py) -----

def onehot(labels, classes, dtype=torch.float64):
    return F.one_hot(labels.long(), classes).to(dtype)


def soft_cross_entropy_loss(output, target):
    return torch.mean(torch.mul(-F.log_softmax(output, dim=-1), target))


def trades_loss(output, target):
    return nn.KLDivLoss(reduction="sum", log_target=True)(F.log_softmax(output, dim=1), F.log_softmax(target, dim=1))


bce = nn.BCEWithLogitsLoss()


def curvature(net, images, labels, first, second):
    """force_cosine's plain form: record_task_gradients(keep_graph=True) for the first two tasks, then R. (The
    official loop also runs a pass for every further task; those only move BatchNorm's running statistics.)"""
    grads = []
    for task in (first, second):
        x = images.clone()
        x.requires_grad = True
        out = net(x)
        loss = bce(out[KEYS[task]], labels[task])
        grads.append(torch.autograd.grad(loss, x, retain_graph=True, create_graph=True)[0])
    t1 = grads[0].reshape(grads[0].shape[0], -1)
    t2 = grads[1].reshape(grads[1].shape[0], -1)
    cos = nn.CosineSimilarity()(t1, t2)
    r = (1 - cos ** 2) * (t1 - t2).norm(dim=1) ** 2 / (t1 + t2).norm(dim=1) ** 2
    return r.mean()


def train_step(net, opt, x, labels, tasks, steps, eps, alpha, trades, weights, c, mgda, random_start=False):
    """One iteration of train_epoch on a transformed batch x with one-hot labels: MTPGD, the losses, the
    weighting's backward, the optimizer's step. Returns the terms, the weights and the adversarial batch."""
    net.train()
    opt.zero_grad()
    # MTPGD (torchattacks puts the model in eval mode for the attack).
    net.eval()
    images = x.clone().detach()
    clean_out = net(images)
    adv = images.clone().detach()
    if random_start:
        adv = torch.clamp(adv + torch.empty_like(adv).uniform_(-eps, eps), min=0, max=1).detach()
    for _ in range(steps):
        adv.requires_grad_()
        with torch.enable_grad():
            o = net(adv)
            if trades:
                cost = trades_loss(o[KEYS["main"]], clean_out[KEYS["main"]].detach())
            else:
                cost = bce(o[KEYS["main"]], labels["main"])
            grad = torch.autograd.grad(cost, adv)[0]
        adv = adv.detach() + alpha * grad.sign()
        delta = torch.clamp(adv - images, min=-eps, max=eps)
        adv = torch.clamp(images + delta, min=0, max=1).detach()
    net.train()
    adv_outputs = net(adv)
    raw = net(images)
    terms = []
    for n in ["main"] + [m for m in tasks if m == "macro"]:
        cl, a = raw[KEYS[n]], adv_outputs[KEYS[n]]
        clean_loss = bce(cl, labels[n])
        if trades:
            terms.append((n, clean_loss + 6.0 * (1.0 / len(images)) * trades_loss(a, cl)))
        else:
            terms.append((n, 0.5 * clean_loss + 0.5 * bce(a, labels[n])))
    for n in [m for m in tasks if m != "macro"]:
        terms.append((n, weights[n] * soft_cross_entropy_loss(raw[KEYS[n]], labels[n])))
    if c > 0:
        terms.append(("curvature", c * torch.abs(curvature(net, images, labels, "main", tasks[0]))))
    losses = [l for _, l in terms]
    if not mgda:
        sum(losses).backward()
        w = torch.ones(len(losses), dtype=torch.float64)
    else:
        shared = list(net.encoder.parameters())
        grads = []
        for i, l in enumerate(losses):
            l.backward(retain_graph=i + 1 < len(losses))
            grads.append(torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared]))
            for p in shared:
                if p.grad is not None:
                    p.grad.zero_()
        G = torch.stack(grads)
        w = find_min_norm_element(G)
        new = torch.einsum("i,i...->...", w, G)
        k = 0
        for p in shared:
            p.grad = new[k:k + p.numel()].view_as(p).clone()
            k += p.numel()
    opt.step()
    return terms, w, adv


def heads_of(sd):
    return [(name, sd["task_to_decoder.%s.fc.bias" % key].shape[0]) for name, key in KEYS.items()
            if "task_to_decoder.%s.fc.bias" % key in sd]


def main():
    cmd = sys.argv[1]
    if cmd == "init":
        out, width, channels = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        torch.manual_seed(7)
        net = MTResnet(width, channels, [("main", 10), ("macro", 3), ("jigsaw", 10), ("rotation", 4)])
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        net.eval()
        torch.save(net.state_dict(), out)
        x = torch.rand(3, channels, 28, 28)
        with torch.no_grad():
            o = net(x)
        st.save({"x": x, **{n: o[k] for n, k in KEYS.items()}}, out + ".io.safetensors")
        return
    if cmd == "check":
        path, io, width, channels = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        sd = torch.load(path)
        net = MTResnet(width, channels, heads_of(sd))
        net.load_state_dict(sd, strict=True)
        net.eval()
        t = st.load(io)[0]
        with torch.no_grad():
            t["out_py"] = net(t["x"])[KEYS["main"]]
        st.save(t, io)
        return
    src, out = sys.argv[2], sys.argv[3]
    t = st.load(src)[0]
    if cmd == "transforms":
        x, rot, jig, perms = t["x"], t["rot"], t["jig"], t["perms"].numpy()
        st.save({"rotated": rotation(x, rot), "shuffled": jigsaw(x, perms, jig),
                 "both": rotation(jigsaw(x, perms, jig), rot)}, out)
        return
    if cmd == "mgda":
        st.save({"sol": find_min_norm_element(t["grads"])}, out)
        return
    net = build(t)
    x, y = t["x"], t["y"]
    classes = {n: net.task_to_decoder[k].fc.out_features for n, k in KEYS.items() if k in net.task_to_decoder}
    if cmd == "curvature":
        task2 = ["macro", "jigsaw", "rotation"][int(t["task2"].item())]
        labels = {"main": onehot(y, classes["main"]), task2: onehot(t["l2"], classes[task2])}
        net.train()
        net.zero_grad()
        r = curvature(net, x, labels, "main", task2)
        r.backward()
        res = {"r": r.detach().view(1)}
        for k, p in net.named_parameters():
            res["grad." + k] = p.grad if p.grad is not None else torch.zeros_like(p)
        st.save(res, out)
        return
    # cmd == "step": one iteration of train_epoch.
    tasks = [n for n in ["macro", "jigsaw", "rotation"] if "lab." + n in t]
    labels = {"main": onehot(y, classes["main"])}
    for n in tasks:
        labels[n] = onehot(t["lab." + n], classes[n])
    opt = torch.optim.SGD(net.parameters(), float(t["lr"].item()), momentum=float(t["momentum"].item()),
                          weight_decay=float(t["wd"].item()))
    if "random_start" in t:
        torch.manual_seed(0)
    terms, w, adv = train_step(net, opt, x, labels, tasks, int(t["steps"].item()), float(t["eps"].item()),
                               float(t["alpha"].item()), int(t["algorithm"].item()) == 1,
                               {"jigsaw": float(t["jig_w"].item()), "rotation": float(t["rot_w"].item())},
                               float(t["curvature"].item()), int(t["weighting"].item()) == 1, "random_start" in t)
    res = {"sd." + k: v for k, v in net.state_dict().items()}
    for n, l in terms:
        res["loss." + n] = l.detach().view(1)
    res["w"] = w
    res["adv"] = adv
    st.save(res, out)


if __name__ == "__main__":
    main()
