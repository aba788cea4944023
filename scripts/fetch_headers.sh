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
#
# Idempotent: a stamp file per package records the pinned version; a second run does nothing.
set -euo pipefail

ORT_DEB_VERSION="${ORT_DEB_VERSION:-1.23.2}"        # Debian package version prefix we accept
KERNEL_LENS_VERSION="2.0.1"
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

fetch_trt() {
  local out="$dest/tensorrt"
  if [ -f "$out/.stamp" ] && grep -qx "$KERNEL_LENS_VERSION" "$out/.stamp"; then
    log "TensorRT headers (kernel-lens $KERNEL_LENS_VERSION) already in $out"; return; fi
  local whl
  whl="$(ls "$cache"/kernel_lens-"$KERNEL_LENS_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$whl" ]; then
    log "downloading kernel-lens==$KERNEL_LENS_VERSION (TensorRT 10.14 public headers)"
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$cache" "kernel-lens==$KERNEL_LENS_VERSION"
    whl="$(ls "$cache"/kernel_lens-"$KERNEL_LENS_VERSION"-*.whl | head -n1)"
  fi
  local tmp; tmp="$(mktemp -d)"
  python3 -m zipfile -e "$whl" "$tmp"
  rm -rf "$out"; mkdir -p "$out"
  cp -r "$tmp/kernel_lens/include/tensorrt" "$out/include"
  rm -rf "$tmp"
  echo "$KERNEL_LENS_VERSION" > "$out/.stamp"
  log "TensorRT headers -> $out/include"
}

case "${ONLY:-all}" in
  ort) fetch_ort ;;
  trt) fetch_trt ;;
  *) fetch_ort; fetch_trt ;;
esac
echo "$dest"
