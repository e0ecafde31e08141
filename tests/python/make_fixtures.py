#!/usr/bin/python3
"""Regenerates the fixtures under tests/fixtures/ with Debian's PyTorch (/usr/bin/python3, torch 1.13):
    /usr/bin/python3 tests/python/make_fixtures.py
Each op case stores its inputs as "<case>.in<i>" and PyTorch's results as "<case>.out<j>"; the C# tests
(tests/RobustCli.Torch.Tests/OpFixtureTests.cs) run the same op by case name and compare."""
import json, math, os, sys
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st
from reference_models import SmallCNN, PreAct18

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
torch.manual_seed(1234)
tensors, cases = {}, []


def case(name, inputs, fn):
    outs = fn(*inputs)
    if not isinstance(outs, (tuple, list)):
        outs = [outs]
    for i, t in enumerate(inputs):
        tensors[f"{name}.in{i}"] = t
    for j, t in enumerate(outs):
        tensors[f"{name}.out{j}"] = t
    cases.append(name)


r = lambda *s: torch.randn(*s)
pos = lambda *s: torch.rand(*s) + 0.5
a, b = r(3, 4), r(3, 4)
ints = torch.tensor([[1, -2, 3], [4, 5, -6]])

# creation (deterministic, and seeded random: same libtorch, same generator -> same values)
case("arange", [], lambda: torch.arange(2, 11, 3))
case("arange_float", [], lambda: torch.arange(0.0, 1.0, 0.25))
case("linspace", [], lambda: torch.linspace(-1, 1, 7))
case("eye", [], lambda: torch.eye(3, 4))
case("full", [], lambda: torch.full((2, 3), 1.5))
case("zeros_ones", [], lambda: (torch.zeros(2, 2), torch.ones(3, dtype=torch.int64)))
def seeded():
    torch.manual_seed(7)
    return torch.rand(3, 4), torch.randn(5), torch.randint(0, 10, (6,)), torch.randperm(8)
case("seeded_random", [], seeded)
def generator_random():
    g = torch.Generator().manual_seed(11)
    return torch.rand(4, generator=g), torch.randn(3, generator=g)
case("generator_random", [], generator_random)

# element-wise
case("add_alpha", [a, b], lambda x, y: torch.add(x, y, alpha=2.5))
case("add_broadcast", [r(3, 1), r(1, 4)], lambda x, y: x + y)
case("sub", [a, b], lambda x, y: x - y)
case("mul", [a, b], lambda x, y: x * y)
case("div", [a, pos(3, 4)], lambda x, y: x / y)
case("int_plus_int", [ints], lambda x: x + 1)
case("int_plus_float", [ints], lambda x: x + 1.5)
case("int_div", [ints], lambda x: x / 2)
case("rsub", [a], lambda x: 1 - x)
case("rdiv", [pos(3, 4)], lambda x: 2 / x)
case("pow_scalar", [pos(3, 4)], lambda x: x ** 2.5)
case("pow_tensor", [pos(3, 4), r(3, 4)], lambda x, y: torch.pow(x, y))
for op in ["neg", "abs", "sign", "exp", "floor", "round", "sigmoid", "tanh", "relu", "square"]:
    case(op, [r(3, 4) * 3], getattr(torch, op))
for op in ["log", "log1p", "sqrt", "rsqrt"]:
    case(op, [pos(3, 4)], getattr(torch, op))
case("clamp_scalar", [a], lambda x: x.clamp(-0.5, 0.7))
case("clamp_min_only", [a], lambda x: x.clamp(min=0.1))
case("clamp_tensor", [a, r(3, 4) - 1, r(3, 4) + 1], lambda x, lo, hi: torch.clamp(x, lo, hi))
case("minimum_maximum", [a, b], lambda x, y: (torch.minimum(x, y), torch.maximum(x, y)))
case("compare", [a, b], lambda x, y: (x == y, x < y, x >= y, x > 0.3))
case("logical", [a > 0, b > 0], lambda x, y: (x & y, x | y, ~x))
case("where", [a > 0, a, b], lambda c, x, y: torch.where(c, x, y))
case("addcmul_addcdiv", [a, b, pos(3, 4)], lambda x, y, z: (torch.addcmul(x, y, z, value=0.5), torch.addcdiv(x, y, z, value=-2)))

# reductions
m = r(3, 4, 5)
case("sum_all", [m], lambda x: x.sum())
case("sum_dims", [m], lambda x: x.sum(dim=(0, 2)))
case("mean_keepdim", [m], lambda x: x.mean(dim=1, keepdim=True))
case("max_all_min_all", [m], lambda x: (x.max(), x.min()))
case("max_dim", [m], lambda x: tuple(torch.max(x, dim=1)))
case("min_dim_keepdim", [m], lambda x: tuple(torch.min(x, dim=2, keepdim=True)))
case("argmax_argmin", [m], lambda x: (x.argmax(), x.argmax(dim=1), x.argmin(dim=-1)))
case("topk", [m], lambda x: tuple(torch.topk(x, 3, dim=-1)))
case("sort", [m], lambda x: tuple(torch.sort(x, dim=1, descending=True)))
case("norms", [m], lambda x: (x.norm(p=1), x.norm(p=2), x.abs().max(),
                               torch.linalg.vector_norm(x, ord=2, dim=(1, 2)),
                               torch.linalg.vector_norm(x, ord=float("inf"), dim=(1, 2))))
case("var_std", [m], lambda x: (x.var(), x.std(dim=1), x.var(dim=(0, 2), unbiased=False, keepdim=True)))
case("logsumexp", [m], lambda x: torch.logsumexp(x, dim=1))
case("all_any_count", [m > 0], lambda x: (x.all(), x.any(dim=1), torch.count_nonzero(x), torch.count_nonzero(x, dim=0)))

# linear algebra
case("matmul", [r(2, 3, 4), r(4, 5)], torch.matmul)
case("mm", [r(3, 4), r(4, 2)], torch.mm)
case("bmm", [r(2, 3, 4), r(2, 4, 2)], torch.bmm)
case("linear", [r(5, 4), r(3, 4), r(3)], F.linear)

# shape and indexing
s = r(2, 3, 4)
case("reshape_view", [s], lambda x: (x.reshape(6, 4), x.view(-1, 12), x.flatten(), x.flatten(1)))
case("squeeze_unsqueeze", [r(2, 1, 3, 1)], lambda x: (x.squeeze(), x.squeeze(1), x.unsqueeze(0), x.unsqueeze(-1)))
case("permute_transpose", [s], lambda x: (x.permute(2, 0, 1).contiguous(), x.transpose(0, 2).contiguous()))
case("expand", [r(3, 1)], lambda x: x.expand(3, 4).contiguous())
case("slice_narrow_select", [s], lambda x: (x[:, 1:3], x[..., ::2], x.narrow(2, 1, 2), x[1], x[:, 2]))
idx = torch.tensor([2, 0])
case("index_select", [s, idx], lambda x, i: x.index_select(1, i))
gi = torch.tensor([[0, 2, 1, 0], [1, 1, 0, 2], [2, 0, 2, 1]])
case("gather", [r(3, 3), gi[:, :3]], lambda x, i: x.gather(1, i))
case("scatter", [torch.zeros(3, 5), torch.tensor([[0, 1, 2], [4, 3, 2], [1, 1, 0]]), r(3, 3)],
     lambda x, i, src: (x.scatter(1, i, src), x.scatter_add(1, i, src), x.scatter(1, i, 2.5)))
case("masked", [a, a > 0], lambda x, mk: (x.masked_fill(mk, -1.0), x.masked_select(mk)))
case("index_tensor", [s, torch.tensor([1, 0, 1]), s[0] > 0], lambda x, i, mk: (x[:, i], x[0][mk]))
case("cat_stack", [a, b], lambda x, y: (torch.cat([x, y], 0), torch.cat([x, y], 1), torch.stack([x, y], 1)))
case("split_chunk", [r(7, 3)], lambda x: list(x.split(3)) + list(x.split([2, 5])) + list(x.chunk(3)))
case("flip_roll_rot90", [s], lambda x: (x.flip(0, 2), x.roll(1, 2), x.roll((1, -1), (0, 1)), torch.rot90(x, 1, (1, 2))))
img = r(1, 2, 4, 5)
case("pad", [img], lambda x: (F.pad(x, (1, 2, 0, 1)), F.pad(x, (1, 1, 2, 1), value=0.5), F.pad(x, (2, 1, 1, 2), mode="reflect")))
case("repeat", [r(2, 3)], lambda x: x.repeat(2, 1, 3))
case("one_hot", [torch.tensor([0, 3, 1])], lambda x: F.one_hot(x, 5))
case("nonzero", [torch.tensor([[0., 1.], [2., 0.]])], lambda x: x.nonzero())

# neural-network functions
x4 = r(2, 4, 7, 6)
case("conv2d", [x4, r(6, 2, 3, 3), r(6)], lambda x, w, bb: F.conv2d(x, w, bb, stride=2, padding=1, dilation=2, groups=2))
case("conv2d_nobias", [x4, r(5, 4, 3, 3)], lambda x, w: F.conv2d(x, w, padding=1))
case("conv_transpose2d", [x4, r(4, 3, 3, 3), r(3)], lambda x, w, bb: F.conv_transpose2d(x, w, bb, stride=2, padding=1, output_padding=1))
def bn_train(x, w, bb, rm, rv):
    rm, rv = rm.clone(), rv.clone()
    y = F.batch_norm(x, rm, rv, w, bb, training=True, momentum=0.2, eps=1e-5)
    return y, rm, rv
case("batch_norm_train", [x4, r(4), r(4), r(4), pos(4)], bn_train)
case("batch_norm_eval", [x4, r(4), r(4), r(4), pos(4)], lambda x, w, bb, rm, rv: F.batch_norm(x, rm, rv, w, bb, training=False))
case("group_norm", [x4, r(4), r(4)], lambda x, w, bb: F.group_norm(x, 2, w, bb))
case("layer_norm", [x4, r(7, 6), r(7, 6)], lambda x, w, bb: F.layer_norm(x, (7, 6), w, bb))
def dropout(x):
    torch.manual_seed(3)
    return F.dropout(x, 0.4, training=True), F.dropout(x, 0.4, training=False)
case("dropout", [r(4, 5)], dropout)
case("max_pool2d", [x4], lambda x: (F.max_pool2d(x, 2), F.max_pool2d(x, 3, stride=2, padding=1), F.max_pool2d(x, 2, ceil_mode=True)))
case("avg_pool2d", [x4], lambda x: (F.avg_pool2d(x, 2), F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)))
case("adaptive_avg_pool2d", [x4], lambda x: (F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, (3, 2))))
case("interpolate", [r(1, 2, 3, 4)], lambda x: (F.interpolate(x, scale_factor=2, mode="nearest"),
                                               F.interpolate(x, size=(5, 7), mode="nearest"),
                                               F.interpolate(x, size=(6, 5), mode="bilinear", align_corners=False),
                                               F.interpolate(x, size=(6, 5), mode="bilinear", align_corners=True)))
act_in = r(3, 5) * 3
case("activations", [act_in], lambda x: (F.leaky_relu(x, 0.2), F.elu(x), F.gelu(x), F.gelu(x, approximate="tanh"),
                                         F.silu(x), F.softplus(x), F.softplus(x, beta=2, threshold=1), F.hardtanh(x)))
case("softmax", [act_in], lambda x: (F.softmax(x, 1), F.log_softmax(x, 1), F.softmax(x, 0)))
logits, target = r(6, 5), torch.tensor([0, 4, 2, 2, 1, 3])
soft = F.softmax(r(6, 5), 1)
w5 = pos(5)
case("cross_entropy", [logits, target, soft, w5],
     lambda x, t, sft, w: (F.cross_entropy(x, t), F.cross_entropy(x, t, reduction="none"), F.cross_entropy(x, t, reduction="sum"),
                           F.cross_entropy(x, t, label_smoothing=0.2), F.cross_entropy(x, sft), F.cross_entropy(x, t, weight=w)))
case("nll_loss", [F.log_softmax(logits, 1), target], lambda x, t: (F.nll_loss(x, t), F.nll_loss(x, t, reduction="none")))
case("kl_div", [F.log_softmax(logits, 1), soft], lambda x, t: (F.kl_div(x, t, reduction="batchmean"), F.kl_div(x, t, reduction="sum"), F.kl_div(x, t, reduction="none")))
case("mse_l1", [a, b], lambda x, y: (F.mse_loss(x, y), F.l1_loss(x, y), F.mse_loss(x, y, reduction="sum")))
case("bce_with_logits", [a, torch.rand(3, 4), pos(4)], lambda x, t, pw: (F.binary_cross_entropy_with_logits(x, t),
                                                                        F.binary_cross_entropy_with_logits(x, t, pos_weight=pw)))
case("dtype_conversion", [a * 3], lambda x: (x.to(torch.float64), x.to(torch.int64), x.to(torch.bfloat16), x.to(torch.float16), x.to(torch.bool)))

os.makedirs(OUT, exist_ok=True)
st.save(tensors, os.path.join(OUT, "ops.safetensors"), {"cases": ",".join(cases), "torch": torch.__version__})

# ---- optimisers: two steps on a fixed Linear(4, 3) with an MSE loss ----
torch.manual_seed(5)
lin = nn.Linear(4, 3)
x, t = torch.randn(8, 4), torch.randn(8, 3)
opt_tensors = {"weight": lin.weight.detach().clone(), "bias": lin.bias.detach().clone(), "x": x, "t": t}
configs = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-2),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}
for name, make in configs.items():
    model = nn.Linear(4, 3)
    with torch.no_grad():
        model.weight.copy_(opt_tensors["weight"]); model.bias.copy_(opt_tensors["bias"])
    opt = make(model.parameters())
    for step in range(3):
        opt.zero_grad()
        F.mse_loss(model(x), t).backward()
        opt.step()
    opt_tensors[f"{name}.weight"] = model.weight.detach().clone()
    opt_tensors[f"{name}.bias"] = model.bias.detach().clone()
st.save(opt_tensors, os.path.join(OUT, "optim.safetensors"))

# ---- learning-rate schedules ----
def lrs(make_sched, epochs):
    p = [torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(p, lr=0.1)
    sched = make_sched(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step(); sched.step()
    return out
schedules = {
    "multistep": lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 6], gamma=0.1), 10),
    "cosine": lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 11),
    "linear_warmup": lrs(lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5), 8),
    # "fast is better than free": np.interp([t], [0, E*2//5, E], [0, lr_max, 0]) at fractional epochs
    "one_cycle": [float(np.interp([t], [0, 10 * 2 // 5, 10], [0, 0.2, 0])[0]) for t in np.arange(0, 10.01, 0.25)],
}
with open(os.path.join(OUT, "schedules.json"), "w") as f:
    json.dump(schedules, f, indent=1)

# ---- default initialisation and reference-model forward/backward ----
model_tensors = {}
torch.manual_seed(0)
cnn = SmallCNN()
for k, v in cnn.state_dict().items():
    model_tensors[f"smallcnn_init.{k}"] = v
torch.manual_seed(0)
pre = PreAct18()
pre_keys = list(pre.state_dict().keys())
# PreActResNet-18 is 45 MB of weights: keep a fingerprint per key (first values, sum, sum of squares).
for k, v in pre.state_dict().items():
    flat = v.flatten().double()
    model_tensors[f"preact18_init.{k}.head"] = v.flatten()[:16].clone()
    model_tensors[f"preact18_init.{k}.stats"] = torch.stack([flat.sum(), (flat * flat).sum()]) if flat.numel() else torch.zeros(2, dtype=torch.float64)
xin = torch.rand(4, 1, 28, 28, requires_grad=True)
yin = torch.tensor([1, 7, 3, 0])
out = cnn(xin)
loss = F.cross_entropy(out, yin)
loss.backward()
model_tensors["smallcnn.x"] = xin.detach(); model_tensors["smallcnn.y"] = yin
model_tensors["smallcnn.logits"] = out.detach(); model_tensors["smallcnn.loss"] = loss.detach()
model_tensors["smallcnn.grad_x"] = xin.grad
for k, p in cnn.named_parameters():
    model_tensors[f"smallcnn.grad.{k}"] = p.grad
xp = torch.rand(2, 3, 32, 32)
pre.train()
out_train = pre(xp)
pre.eval()
out_eval = pre(xp)
model_tensors["preact18.x"] = xp; model_tensors["preact18.logits_train"] = out_train.detach(); model_tensors["preact18.logits_eval"] = out_eval.detach()
for k, v in pre.state_dict().items():
    if "running" in k or "num_batches" in k:
        model_tensors[f"preact18.after.{k}"] = v
st.save(model_tensors, os.path.join(OUT, "models.safetensors"), {"preact18_keys": ",".join(pre_keys)})
print(f"{len(cases)} op cases, {len(tensors)} op tensors; fixtures in {os.path.normpath(OUT)}")
