#!/usr/bin/env bash
# Software Vulkan for onnxruntime-node's WebGPU provider (Dawn): Mesa's lavapipe driver and the Vulkan
# loader. Dawn refuses bookworm's own Mesa 22.3, so mesa-vulkan-drivers comes from bookworm-backports
# (25.x); vulkan-tools gives vulkaninfo, which names the adapter in reports. Idempotent: a machine that
# already has them skips apt entirely.
set -euo pipefail

lavapipe_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

if [[ "$(lavapipe_version)" =~ ^2[5-9]\. ]] && dpkg-query -W libvulkan1 vulkan-tools >/dev/null 2>&1; then
  echo "install-webgpu: mesa-vulkan-drivers $(lavapipe_version) already installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi

. /etc/os-release
if [[ "${VERSION_CODENAME:-}" != bookworm ]]; then
  # Newer Debian/Ubuntu releases ship a Mesa that Dawn accepts in their main suite.
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends mesa-vulkan-drivers libvulkan1 vulkan-tools
  exit 0
fi

list=/etc/apt/sources.list.d/bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  $SUDO tee "$list" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -t bookworm-backports mesa-vulkan-drivers libvulkan1 vulkan-tools
echo "install-webgpu: mesa-vulkan-drivers $(lavapipe_version) installed"
