#!/usr/bin/python3
"""Python half of the weight-interop tests (run by the C# tests with Debian's python3-torch).
  save MODEL SEED DIR                 PyTorch writes state dicts (torch.save) and a forward pass for C# to load
  forward MODEL WEIGHTS IN OUT        loads C#-written weights into the PyTorch model, writes its logits
  adversarial PATH OUT                loads robust eval --save-adv's file with torch.load, re-saves it as safetensors
  optimizer KIND PATH OUT             loads a C#-written optimizer state_dict into torch.optim, writes its state
"""
import os, sys
import torch, torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st
from reference_models import MODELS


def build(name):
    cls, shape = MODELS[name]
    return cls(), shape


def load_weights(path):
    if path.endswith(".safetensors"):
        return st.load(path)[0]
    # Our .pt files are plain torch.save archives: the safe loader must accept them.
    return torch.load(path, weights_only=True)


def main():
    cmd = sys.argv[1]
    if cmd == "save":
        name, seed, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        torch.manual_seed(seed)
        model, shape = build(name)
        model.train()
        with torch.no_grad():
            model(torch.rand(8, *shape))  # non-trivial BatchNorm running statistics
        model.eval()
        x = torch.rand(5, *shape)
        with torch.no_grad():
            logits = model(x)
        torch.save(model.state_dict(), os.path.join(out, "state_dict.pt"))
        torch.save({"epoch": 3, "best_acc": 0.5, "state_dict": model.state_dict(), "note": "nested"}, os.path.join(out, "checkpoint.pt"))
        # As DataParallel saves it: every key under "module.", nested in a checkpoint dict.
        torch.save({"state_dict": {"module." + k: v for k, v in model.state_dict().items()}}, os.path.join(out, "dataparallel.pt"))
        torch.save({"w": torch.arange(6.0).reshape(2, 3)}, os.path.join(out, "one_entry.pt"))
        mixed = {"f64": torch.linspace(0, 1, 5, dtype=torch.float64), "i64": torch.arange(4), "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
                 "u8": torch.tensor([0, 255], dtype=torch.uint8), "b": torch.tensor([True, False]), "view": torch.arange(12.0).reshape(3, 4)[:, 1]}
        torch.save(mixed, os.path.join(out, "mixed.pt"))
        st.save({"x": x, "logits": logits}, os.path.join(out, "io.safetensors"))
    elif cmd == "forward":
        name, weights, inp, out = sys.argv[2:6]
        model, _ = build(name)
        model.load_state_dict(load_weights(weights))  # strict: every key and shape must match
        model.eval()
        x = st.load(inp)[0]["x"]
        with torch.no_grad():
            st.save({"logits": model(x)}, out)
    elif cmd == "adversarial":
        # robust eval --save-adv output: must load with the safe loader; re-written as safetensors for the C# side.
        path, out = sys.argv[2:4]
        st.save({k: v for k, v in torch.load(path, weights_only=True).items()}, out)
    elif cmd == "optimizer":
        kind, path, out = sys.argv[2:5]
        model = nn.Linear(4, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9) if kind == "sgd" else torch.optim.Adam(model.parameters(), lr=0.5)
        # torch 1.13's weights_only unpickler lacks BINFLOAT, so it refuses every optimizer state_dict
        # (PyTorch's own too: lr is a float); 2.x accepts them.
        opt.load_state_dict(torch.load(path, weights_only=False))
        group = opt.param_groups[0]
        result = {"lr": torch.tensor([group["lr"]], dtype=torch.float64)}
        for i, p in enumerate(model.parameters()):
            for k, v in opt.state[p].items():
                result[f"{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
        st.save(result, out)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
