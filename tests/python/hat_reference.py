#!/usr/bin/python3
"""ObsAtk, HAT and DnCNN written from the official code (HanshuYAN/ObsAtk: advertorch/attacks4IP/zero_mean_pgd.py
L2PGDAttack and perturb_iterative, main_train_HAT.py Denoiser._fit_one_epoch, models/nets/DnCNN.py,
models/utils.py weights_init_kaiming), in float64, and scikit-image's image metrics and reader. Run by the C# tests
with Debian's python3-torch and python3-skimage.

  obsatk IN OUT LEVEL STEPS STEP_FRACTION [ELEMENTS]
        IN: sd.<key> (a DnCNN's state dict), y (observations), x (clean), depth, features. The attack in eval mode
        with rho = LEVEL/255 sqrt(N) (N = ELEMENTS, else C*H*W) and eps_iter = STEP_FRACTION * rho. OUT: adv.
  hat IN OUT LEVEL ALPHA
        One HAT batch: the one-step training ObsAtk on (y; x) in eval mode with frozen parameters, then in train mode
        o = f(y), L_obs = sum (o - x)^2, L_adv = sum (f(y_adv) - o)^2, L = [L_obs/(1+a) + a L_adv/(1+a)] / (2B).
        OUT: adv, loss, loss_obs, loss_adv, grad.<param>, and sd.<key> after the passes (BatchNorm statistics).
  init OUT_PT SEED DEPTH FEATURES CHANNELS
        A DnCNN initialised as the reference does, torch.save'd (state dict), plus OUT_PT.io.safetensors with an
        input x and the eval-mode output.
  check IN_PT IO DEPTH FEATURES CHANNELS
        Loads a state dict saved by RobustCli (torch.load, strict) into the reference DnCNN and writes its
        eval-mode output on IO's x to IO (key out_py).
  quality IN OUT
        IN: a, b (float64 [N, C, H, W] in [0, 1]). OUT: psnr and ssim per image from skimage.metrics
        (peak_signal_noise_ratio with data_range 1; structural_similarity with gaussian_weights, sigma 1.5,
        use_sample_covariance False, data_range 1, channel_axis 0).
  imread PATH OUT
        skimage.io.imread of PATH as uint8 (HxW or HxWxC) to OUT (key pixels).
"""
import math, os, sys
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st


class DnCNN(nn.Module):
    def __init__(self, depth=17, n_filters=64, img_channels=1):
        super().__init__()
        layers = [nn.Conv2d(img_channels, n_filters, 3, padding=1, bias=False), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(n_filters, n_filters, 3, padding=1, bias=False), nn.BatchNorm2d(n_filters), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(n_filters, img_channels, 3, padding=1, bias=False))
        self.dncnn = nn.Sequential(*layers)
        self.apply(weights_init_kaiming)

    def forward(self, x):
        return x - self.dncnn(x)


def weights_init_kaiming(m):
    name = m.__class__.__name__
    if name.find('Conv') != -1:
        nn.init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
    elif name.find('BatchNorm') != -1:
        m.weight.data.normal_(mean=0, std=math.sqrt(2. / 9. / 64.)).clamp_(-0.025, 0.025)
        nn.init.constant_(m.bias.data, 0.0)


def zero_mean_projection(x):
    B, C, H, W = x.shape
    data = x.view(B, 1, -1)
    normal = torch.ones_like(data).transpose(1, 2)
    inner = torch.bmm(data, normal) / (normal ** 2).sum(dim=(1, 2), keepdim=True)
    return (data - inner * normal.transpose(1, 2)).view(B, C, H, W)


def batch_norm2(x):
    return x.view(x.shape[0], -1).norm(p=2, dim=1).view(-1, 1, 1, 1)


def obsatk(net, y, x, eps, nb_iter, eps_iter):
    """advertorch's L2PGDAttack.perturb with rand_init False and the zero-mean projection, as in zero_mean_pgd.py."""
    loss_fn = nn.MSELoss()
    delta = nn.Parameter(torch.zeros_like(y))
    for _ in range(nb_iter):
        loss = loss_fn(net(y + delta), x)
        loss.backward()
        grad = delta.grad.data
        grad = grad / torch.max(batch_norm2(grad), torch.ones_like(batch_norm2(grad)) * 1e-6)
        delta.data = delta.data + eps_iter * grad
        delta.data = torch.clamp(y.data + delta.data, 0.0, 1.0) - y.data
        delta.data = zero_mean_projection(delta.data)
        norm = batch_norm2(delta.data)
        factor = torch.min(eps / norm, torch.ones_like(norm))
        delta.data = factor * delta.data
        delta.grad.data.zero_()
    return torch.clamp(y + delta, 0.0, 1.0).data


def build(t, channels):
    depth, features = int(t["depth"].item()), int(t["features"].item())
    net = DnCNN(depth, features, channels).double()
    net.load_state_dict({k[3:]: v for k, v in t.items() if k.startswith("sd.")}, strict=True)
    return net


def set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad = flag


def main():
    cmd = sys.argv[1]
    if cmd == "obsatk":
        t = st.load(sys.argv[2])[0]
        y, x = t["y"], t["x"]
        level, steps, frac = float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        n = float(sys.argv[7]) if len(sys.argv) > 7 else y[0].numel()
        net = build(t, y.shape[1])
        net.eval()
        set_requires_grad(net, False)
        eps = level / 255 * math.sqrt(n)
        st.save({"adv": obsatk(net, y, x, eps, steps, frac * eps)}, sys.argv[3])
    elif cmd == "hat":
        t = st.load(sys.argv[2])[0]
        clean, noisy = t["x"], t["y"]
        level, alpha = float(sys.argv[4]), float(sys.argv[5])
        net = build(t, clean.shape[1])
        eps = level / 255 * math.sqrt(clean[0].numel())
        net.eval()
        set_requires_grad(net, False)
        adv = obsatk(net, noisy, clean, eps, 1, 1 * eps)
        set_requires_grad(net, True)
        net.train()
        net.zero_grad()
        crit = nn.MSELoss(reduction='sum')
        b = clean.size()[0]
        output = net(noisy)
        loss_obs = crit(output, clean)
        loss_adv = crit(net(adv) - output, torch.zeros_like(clean))
        loss = (loss_obs * 1. / (1 + alpha) + loss_adv * alpha / (1 + alpha)) / (2 * b)
        loss.backward()
        res = {"adv": adv, "loss": loss.detach().view(1), "loss_obs": loss_obs.detach().view(1), "loss_adv": loss_adv.detach().view(1)}
        for k, p in net.named_parameters():
            res["grad." + k] = p.grad
        for k, v in net.state_dict().items():
            res["sd." + k] = v
        st.save(res, sys.argv[3])
    elif cmd == "init":
        out, seed, depth, features, channels = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        torch.manual_seed(seed)
        net = DnCNN(depth, features, channels)
        # Running statistics that are not the defaults, so eval mode tests them.
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        net.eval()
        torch.save(net.state_dict(), out)
        x = torch.rand(2, channels, 12, 10)
        with torch.no_grad():
            st.save({"x": x, "out": net(x)}, out + ".io.safetensors")
    elif cmd == "check":
        path, io, depth, features, channels = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        net = DnCNN(depth, features, channels)
        net.load_state_dict(torch.load(path), strict=True)
        net.eval()
        t = st.load(io)[0]
        with torch.no_grad():
            t["out_py"] = net(t["x"])
        st.save(t, io)
    elif cmd == "quality":
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity
        t = st.load(sys.argv[2])[0]
        a, b = t["a"].numpy(), t["b"].numpy()
        psnr = [peak_signal_noise_ratio(b[i], a[i].clip(0, 1), data_range=1) for i in range(a.shape[0])]
        ssim = [structural_similarity(a[i].clip(0, 1), b[i], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                      data_range=1, channel_axis=0) for i in range(a.shape[0])]
        st.save({"psnr": torch.tensor(psnr, dtype=torch.float64), "ssim": torch.tensor(ssim, dtype=torch.float64)}, sys.argv[3])
    elif cmd == "imread":
        from skimage import io
        st.save({"pixels": torch.from_numpy(io.imread(sys.argv[2]).copy())}, sys.argv[3])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
