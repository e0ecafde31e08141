"""Marks one version-need entry of an ELF shared library weak (vna_flags |= VER_FLG_WEAK).

The dynamic loader refuses a library that needs a symbol version its dependency lacks, unless that need is
weak. Used by scripts/torchsharp-compat.sh on a copy of libLibTorchSharp.so; standard library only.
Prints how many entries it marked (0 when the version is not needed)."""
import struct
import sys

VER_FLG_WEAK = 0x2
SHT_GNU_VERNEED = 0x6FFFFFFE


def mark_weak(path, version):
    data = bytearray(open(path, "rb").read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"{path}: a 64-bit little-endian ELF file was expected")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    marked = 0
    for sec in sections:
        if sec[1] != SHT_GNU_VERNEED:
            continue
        strings = sections[sec[6]][4]

        def name(offset):
            end = data.index(b"\0", strings + offset)
            return bytes(data[strings + offset:end])

        entry = sec[4]
        for _ in range(sec[7] or 1 << 16):  # sh_info holds the number of Verneed entries
            _, count, _, aux, nxt = struct.unpack_from("<HHIII", data, entry)
            a = entry + aux
            for _ in range(count):
                _, flags, _, vna_name, vna_next = struct.unpack_from("<IHHII", data, a)
                if name(vna_name) == version and not flags & VER_FLG_WEAK:
                    struct.pack_into("<H", data, a + 4, flags | VER_FLG_WEAK)
                    marked += 1
                a += vna_next
            if nxt == 0:
                break
            entry += nxt
    open(path, "wb").write(data)
    return marked


if __name__ == "__main__":
    print(mark_weak(sys.argv[1], sys.argv[2].encode()))
