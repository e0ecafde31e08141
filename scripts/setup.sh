#!/usr/bin/env bash
# Installs what RobustCli needs on Debian 12 (bookworm) and builds it. Safe to run again: it installs
# only what is missing and the build is incremental.
#   - cmake, g++                  build the native shim
#   - libtorch-dev                libtorch 1.13 (CPU), the tensor engine
#   - libopenblas0-openmp         an optimised BLAS for libtorch (Debian's default is the slow reference BLAS)
#   - python3-torch, python3-scipy  Debian's PyTorch (the benchmark's reference, the tests' fixtures and interop) and SciPy (.mat test files)
#   - dataset-fashion-mnist        Fashion-MNIST in /usr/share/datasets/fashion-mnist (the quickstart's data)
#   - fonts-dejavu-core            the font the plots' text is drawn in (ScottPlot over Skia finds it through fontconfig)
#   - python3-skimage              scikit-image: the natural photographs of the denoising quickstart (its data folder)
#                                  and the SSIM reference the tests check against
#   - patchelf, binutils          TorchSharp's compatibility step on Debian 12 (scripts/torchsharp-compat.sh): the
#                                  TorchSharp engine and tools/TorchSharpPeer patch their own copy of libLibTorchSharp.so
#   - the .NET 10 SDK             must already be on PATH (Debian does not package it)
# With --tests (scripts/test.sh passes it), also what only the tests use:
#   - slurm-wlm, munge            a one-node Slurm cluster the cluster tests start and stop (tests/slurm)
#   - time                        /usr/bin/time: the peak memory of each hostile-weights refusal (HostileWeightsTests)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(cmake g++ patchelf binutils libtorch-dev libopenblas0-openmp python3-torch python3-scipy python3-skimage dataset-fashion-mnist fonts-dejavu-core)
if [[ "${1:-}" == "--tests" ]]; then packages+=(slurm-wlm munge time); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null || ! dotnet --list-sdks | grep -q '^10\.'; then
  echo "setup: the .NET 10 SDK is required and not found on PATH; install it from https://dot.net (Debian does not package it)" >&2
  exit 1
fi
# OpenBLAS must be the active BLAS alternative, or libtorch's linear layers run on the reference BLAS.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 points at '${blas:-?}', not OpenBLAS; run: update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2 ;;
esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build "$here/RobustCli.sln" -c Release -v quiet -nologo >&2
