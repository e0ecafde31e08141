"""Writes a corpus of malformed and hostile weight files for `robust eval --checkpoint` (tests/RobustCli.Tests/HostileWeightsTests.cs).

usage: /usr/bin/python3 make_hostile_weights.py GOOD.pt OUT_DIR MARKER

GOOD.pt is a SmallCNN state dict that RobustCli saved; every file here is made from it or from scratch, the way an
attacker (or a broken disk) would: truncations, lying headers, shapes and dtypes, deep nesting, self-reference,
pickles that would execute code under pickle.load (each would create MARKER: the test checks it never appears).
Prints one JSON object: {file: "refuse" | "load"}; "load" files are honest variants (float16, float64) that must evaluate.
"""
import io
import json
import os
import struct
import sys
import zipfile

import torch

good_path, out, marker = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
good_bytes = open(good_path, "rb").read()
sd = torch.load(good_path)
expect = {}


def write(name, data, verdict="refuse"):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    expect[name] = verdict


def archive(pkl, records=None, name="archive"):
    """A torch.save-like zip with our own data.pkl and storage records."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", pkl)
        z.writestr(f"{name}/byteorder", "little")
        for k, v in (records or {}).items():
            z.writestr(f"{name}/data/{k}", v)
        z.writestr(f"{name}/version", "3\n")
    return buf.getvalue()


def saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def rebuild_pickle(size, stride, offset=0, numel=None, storage="FloatStorage", key="0"):
    """{'w': tensor} whose _rebuild_tensor_v2 arguments are ours to choose (protocol 2, hand-assembled)."""
    numel = numel if numel is not None else 4
    p = b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02("
    p += b"(X\x07\x00\x00\x00storageq\x03ctorch\n" + storage.encode() + b"\nq\x04X" + struct.pack("<I", len(key)) + key.encode()
    p += b"X\x03\x00\x00\x00cpuq\x05J" + struct.pack("<i", numel) + b"tq\x06Q"
    p += b"J" + struct.pack("<i", offset)
    p += b"(" + b"".join(b"J" + struct.pack("<i", d) for d in size) + b"t"
    p += b"(" + b"".join(b"J" + struct.pack("<i", d) for d in stride) + b"t"
    p += b"\x89ccollections\nOrderedDict\nq\x07)Rq\x08tq\tRq\ns."
    return p


def safetensors(header, data=b""):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + data


# --- plain garbage and truncations -------------------------------------------------------------------------------
write("empty.pt", b"")
write("three-bytes.pt", b"PK\x03")
write("random.pt", bytes((i * 37 + 11) % 256 for i in range(4096)))
write("text.pt", b"this is not a checkpoint\n" * 20)
write("truncated-half.pt", good_bytes[: len(good_bytes) // 2])
write("truncated-90.pt", good_bytes[: len(good_bytes) * 9 // 10])
write("truncated-tail.pt", good_bytes[:-30])
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("archive/version", "3\n")
write("no-data-pkl.pt", buf.getvalue())

# --- malformed pickles ----------------------------------------------------------------------------------------------
write("pickle-no-stop.pt", archive(b"\x80\x02}q\x00"))
write("pickle-bad-opcode.pt", archive(b"\x80\x02\xff."))
write("pickle-underflow.pt", archive(b"\x80\x02s."))
write("pickle-memo-missing.pt", archive(b"\x80\x02h\x09."))
write("pickle-long-string.pt", archive(b"\x80\x02X\xff\xff\xff\x7fabc."))
write("pickle-huge-long4.pt", archive(b"\x80\x02\x8b\xff\xff\xff\x7f\x00."))
write("pickle-setitem-on-int.pt", archive(b"\x80\x02K\x01X\x01\x00\x00\x00aK\x02s."))
# 100,000 nested lists: a recursive reader dies of a stack overflow
write("nested-lists.pt", archive(b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b"."))
write("nested-dicts.pt", archive(b"\x80\x02" + b"}X\x01\x00\x00\x00k" * 50000 + b"}" + b"s" * 50000 + b"."))
write("nested-tuples.pt", archive(b"\x80\x02" + b"(" * 50000 + b")" + b"t" * 50000 + b"."))
# a list that holds itself: [l] with l appended to l through the memo
write("self-reference.pt", archive(b"\x80\x02]q\x00h\x00a."))
# 60 levels of shared pairs: 2^60 paths if references are followed naively
levels = b"\x80\x02K\x00"
for i in range(60):
    levels += b"q" + bytes([i]) + b"(h" + bytes([i]) + b"h" + bytes([i]) + b"l"
levels += b"."
write("shared-pairs.pt", archive(levels))

# --- pickles that execute code under pickle.load ------------------------------------------------------------------
cmd = f"touch {marker}".encode()
write("reduce-os-system.pt", archive(b"\x80\x02cos\nsystem\n(X" + struct.pack("<I", len(cmd)) + cmd + b"tR."))
payload = f"open('{marker}', 'w').write('x')".encode()
write("reduce-builtins-eval.pt", archive(b"\x80\x02cbuiltins\neval\n(X" + struct.pack("<I", len(payload)) + payload + b"tR."))
write("reduce-subprocess.pt", archive(b"\x80\x02csubprocess\nPopen\n((X\x05\x00\x00\x00touchX" + struct.pack("<I", len(marker)) + marker.encode() + b"ttR."))
# a state dict whose value is an os.system call: the tensors are missing, the call is never made
write("state-dict-with-call.pt", archive(b"\x80\x02}X\x0c\x00\x00\x00conv1.weightcos\nsystem\n(X" + struct.pack("<I", len(cmd)) + cmd + b"tRs."))

# --- storages and views that lie ----------------------------------------------------------------------------------
floats = struct.pack("<4f", 1, 2, 3, 4)
write("storage-missing.pt", archive(rebuild_pickle([4], [1])))
write("storage-too-short.pt", archive(rebuild_pickle([1000], [1]), {"0": floats}))
write("view-past-storage.pt", archive(rebuild_pickle([2, 2], [2, 1], offset=3), {"0": floats}))
write("view-huge.pt", archive(rebuild_pickle([100000, 100000, 100000], [1, 1, 1]), {"0": floats}))
write("view-negative-size.pt", archive(rebuild_pickle([-4], [1]), {"0": floats}))
write("view-negative-stride.pt", archive(rebuild_pickle([4], [-1], offset=3), {"0": floats}))
write("view-negative-offset.pt", archive(rebuild_pickle([4], [1], offset=-2), {"0": floats}))
write("storage-odd-bytes.pt", archive(rebuild_pickle([1], [1]), {"0": b"\x00\x01\x02"}))
write("storage-declared-larger.pt", archive(rebuild_pickle([4], [1], numel=1 << 30), {"0": floats}))
write("storage-unknown-type.pt", archive(rebuild_pickle([4], [1], storage="ComplexFloatStorage"), {"0": floats}))
write("storage-key-path.pt", archive(rebuild_pickle([4], [1], key="../../etc/passwd"), {"0": floats}))
# a deflated record of 64 MiB of zeros: the reader must not inflate it blindly
bomb = io.BytesIO()
with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", rebuild_pickle([4], [1]))
    z.writestr("archive/data/0", b"\x00" * (64 << 20))
write("compression-bomb.pt", bomb.getvalue())

# --- safetensors that lie ------------------------------------------------------------------------------------------
write("st-header-past-file.safetensors", struct.pack("<Q", 1 << 40) + b"{}")
write("st-bad-json.safetensors", safetensors(b'{"w": {"dtype": "F32", "shape": [1], '))
write("st-not-object.safetensors", safetensors(b'["w", 1, 2]      '))
write("st-shape-exceeds-data.safetensors", safetensors({"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20, 1 << 10], "data_offsets": [0, 16]}}, floats))
write("st-negative-dim.safetensors", safetensors({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, floats))
write("st-offsets-outside.safetensors", safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}}, floats))
write("st-offsets-reversed.safetensors", safetensors({"w": {"dtype": "F32", "shape": [0], "data_offsets": [16, 0]}}, floats))
write("st-unknown-dtype.safetensors", safetensors({"w": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}}, floats))
write("st-missing-offsets.safetensors", safetensors({"w": {"dtype": "F32", "shape": [4]}}, floats))
write("st-offsets-strings.safetensors", safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": ["0", "16"]}}, floats))
write("st-deep-json.safetensors", safetensors(b'{"w": ' + b"[" * 5000 + b"]" * 5000 + b"}"))

# --- well-formed files of the wrong content -------------------------------------------------------------------------
write("wrong-shape.pt", saved({k: torch.zeros(3, 3) if k.endswith("weight") else v for k, v in sd.items()}))
write("no-tensors.pt", saved({"epoch": 3, "acc": 0.5}))
write("nan-weights.pt", saved({k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in sd.items()}))
inf = {k: v.clone() for k, v in sd.items()}
first = next(k for k, v in inf.items() if v.is_floating_point())
inf[first].view(-1)[0] = float("inf")
write("inf-weight.pt", saved(inf))

# --- honest variants that must keep loading (PyTorch's load_state_dict casts) ----------------------------------------
write("float16.pt", saved({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}), "load")
write("float64.pt", saved({k: v.double() if v.is_floating_point() else v for k, v in sd.items()}), "load")

print(json.dumps(expect))
