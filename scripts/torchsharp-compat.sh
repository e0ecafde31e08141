#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so load on a system whose libstdc++ predates GCC 13 (Debian 12).
#
#   scripts/torchsharp-compat.sh OUTPUT_DIR      patch the copy under OUTPUT_DIR (a build or publish folder)
#   scripts/torchsharp-compat.sh --check OUTPUT_DIR   exit 0 when that copy loads as it is, 1 when it needs this
#
# libLibTorchSharp.so 0.107 needs GLIBCXX_3.4.32 for exactly one symbol, std::ios_base_library_init(). Where the
# system's libstdc++ lacks that version, three edits on a copy of the file (never the NuGet cache, never the
# system) make it load: the symbol's version is cleared, the version need is marked weak, and a one-function
# library beside it (libstdcxx_ios_init_compat.so) defines the symbol as the no-op it is on libstdc++ 12.
# The copy is written to a temporary file and renamed over the output's, so a hard link into the NuGet cache
# is replaced, not written through. Idempotent; says what it did.
set -euo pipefail
check=0
if [[ "${1:-}" == "--check" ]]; then check=1; shift; fi
out="${1:?usage: torchsharp-compat.sh [--check] OUTPUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
compat_name=libstdcxx_ios_init_compat.so
need=GLIBCXX_3.4.32

lib=""
for c in "$out/runtimes/linux-x64/native/libLibTorchSharp.so" "$out/libLibTorchSharp.so"; do
  [[ -f "$c" ]] && { lib="$c"; break; }
done
[[ -n "$lib" ]] || { echo "torchsharp-compat: no libLibTorchSharp.so under $out" >&2; exit 2; }
dir="$(dirname "$lib")"

libstdcxx="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
[[ -n "$libstdcxx" ]] || libstdcxx=/usr/lib/x86_64-linux-gnu/libstdc++.so.6
if grep -q "$need" "$libstdcxx" 2>/dev/null; then
  ((check)) && exit 0
  echo "torchsharp-compat: $libstdcxx has $need; $lib is used as shipped"
  exit 0
fi
if readelf -d "$lib" 2>/dev/null | grep -q "$compat_name"; then
  ((check)) && exit 0
  echo "torchsharp-compat: $lib already patched"
  exit 0
fi
((check)) && exit 1

for tool in patchelf g++ readelf; do
  command -v "$tool" >/dev/null || { echo "torchsharp-compat: $tool is needed (run ./scripts/setup.sh, or apt-get install patchelf g++ binutils)" >&2; exit 2; }
done
python=/usr/bin/python3
[[ -x "$python" ]] || python="$(command -v python3)"

tmp="$(mktemp "$dir/.libLibTorchSharp.XXXXXX")"
trap 'rm -f "$tmp" "$dir/.$compat_name.tmp"' EXIT
cp "$lib" "$tmp"
patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$tmp"
marked="$("$python" "$here/torchsharp-compat/weak_verneed.py" "$tmp" "$need")"
patchelf --add-needed "$compat_name" "$tmp"
g++ -O2 -shared -fPIC -o "$dir/.$compat_name.tmp" "$here/torchsharp-compat/ios_base_library_init.cpp"
mv -f "$dir/.$compat_name.tmp" "$dir/$compat_name"
chmod 755 "$tmp"
mv -f "$tmp" "$lib"
trap - EXIT
echo "torchsharp-compat: $libstdcxx lacks $need; patched $lib (symbol version cleared, $marked version need(s) marked weak, needs $compat_name beside it)"
