#!/usr/bin/python3
"""Python half of the tests of the training loop's optimisation step (run by the C# tests with Debian's python3-torch).
  clip IN OUT MAX_NORM        IN holds p.<name> and g.<name>; torch.nn.utils.clip_grad_norm_ on those gradients;
                              OUT holds the clipped g.<name> and total_norm
  ema IN OUT DECAY            IN holds ema.<name> and live.<name> (a model's state dict: parameters and buffers);
                              one update as timm's ModelEmaV2 does for floats (ema*decay + (1-decay)*live), ints copied
  groups IN OUT LR MOMENTUM   IN holds p.<name>, g1.<name>, g2.<name> and scale.<name> (a 0-dim lr multiplier);
                              two torch.optim.SGD steps with one param group per distinct scale; OUT holds p.<name>
"""
import os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st


def names(t, prefix):
    return sorted(k[len(prefix):] for k in t if k.startswith(prefix))


def main():
    cmd, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
    t = st.load(src)[0]
    if cmd == "clip":
        max_norm = float(sys.argv[4])
        ps = []
        for n in names(t, "p."):
            p = t["p." + n].clone().requires_grad_(True)
            p.grad = t["g." + n].clone()
            ps.append((n, p))
        total = torch.nn.utils.clip_grad_norm_([p for _, p in ps], max_norm)
        res = {"g." + n: p.grad for n, p in ps}
        res["total_norm"] = total.reshape(1).double()
        st.save(res, out)
    elif cmd == "ema":
        decay = float(sys.argv[4])
        res = {}
        for n in names(t, "ema."):
            e, v = t["ema." + n].clone(), t["live." + n]
            res["ema." + n] = e * decay + (1.0 - decay) * v if e.is_floating_point() else v.clone()
        st.save(res, out)
    elif cmd == "groups":
        lr, momentum = float(sys.argv[4]), float(sys.argv[5])
        ps = [(n, t["p." + n].clone().requires_grad_(True), float(t["scale." + n])) for n in names(t, "p.")]
        order, groups = [], {}
        for n, p, s in ps:
            if s not in groups:
                groups[s] = []
                order.append(s)
            groups[s].append(p)
        opt = torch.optim.SGD([{"params": groups[s], "lr": lr * s} for s in order], lr=lr, momentum=momentum, weight_decay=5e-4)
        for step in ("g1.", "g2."):
            for n, p, _ in ps:
                p.grad = t[step + n].clone()
            opt.step()
        st.save({"p." + n: p.detach() for n, p, _ in ps}, out)
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
