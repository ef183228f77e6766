#!/usr/bin/env bash
# Install on the self-hosted GPU runner: `npm ci`, then onnxruntime-node's CUDA 12 provider, then
# prove both load. The workflow sets ONNXRUNTIME_NODE_INSTALL=cuda12 for this step.
#
# The repository's .npmrc sets ignore-scripts=true (everyone else's install stays offline-safe), so
# `npm ci` leaves the provider out: onnxruntime-node's own install script is run explicitly. Its download (~400 MB from
# NuGet) is kept in the runner's tool cache, per onnxruntime-node version, for the next jobs.
#
# Node and npm are pinned: this install depends on how npm treats install scripts (later npm releases
# plan to turn them off by default and change the allow-list), so a runner never picks up a new npm
# behind our back. The workflow's setup-node installs NODE_VERSION; npm is set to NPM_VERSION once per
# runner (it lives in the tool cache's Node).
set -euo pipefail

NODE_VERSION=20.20.2
NPM_VERSION=11.19.1

if [ "${ONNXRUNTIME_NODE_INSTALL:-}" != "cuda12" ]; then
  echo "::error::install-gpu.sh: set ONNXRUNTIME_NODE_INSTALL=cuda12 for this step (got '${ONNXRUNTIME_NODE_INSTALL:-}')"
  exit 2
fi

if [ "$(node --version)" != "v$NODE_VERSION" ]; then
  echo "::error::install-gpu.sh: Node $(node --version), expected v$NODE_VERSION (setup-node's node-version)"
  exit 1
fi
if [ "$(npm --version)" != "$NPM_VERSION" ]; then
  npm install --global --no-audit --no-fund "npm@$NPM_VERSION"
fi

npm ci --no-audit --no-fund

ort=node_modules/onnxruntime-node
version=$(node -p "require('./$ort/package.json').version")
bin="$ort/bin/napi-v6/linux/x64"
keep="${RUNNER_TOOL_CACHE:-$HOME/.cache}/onnxruntime-node-cuda12/$version"
libs=(libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so libonnxruntime_providers_tensorrt.so)

if [ ! -f "$bin/libonnxruntime_providers_cuda.so" ]; then
  if [ -f "$keep/libonnxruntime_providers_cuda.so" ]; then
    echo "CUDA provider for onnxruntime-node $version from $keep"
    for f in "${libs[@]}"; do if [ -f "$keep/$f" ]; then cp "$keep/$f" "$bin/"; fi; done
  else
    echo "Downloading the CUDA provider for onnxruntime-node $version"
    node "$ort/script/install" --onnxruntime-node-install=cuda12
    # Publish by rename so that two runners sharing the tool cache never see half a copy.
    tmp="$keep.$$.tmp"
    mkdir -p "$tmp"
    for f in "${libs[@]}"; do if [ -f "$bin/$f" ]; then cp "$bin/$f" "$tmp/"; fi; done
    mkdir -p "$(dirname "$keep")"
    mv -T "$tmp" "$keep" 2>/dev/null || rm -rf "$tmp"
  fi
fi

if [ ! -f "$bin/libonnxruntime_providers_cuda.so" ]; then
  echo "::error::no $bin/libonnxruntime_providers_cuda.so after the install; see docs/gpu-runner.md"
  exit 1
fi
# The provider links against CUDA 12 and cuDNN 9 from the system: name what is missing here rather
# than let the first session fail hours into the queue. ldd sees only what the provider links at load
# time; cuDNN and parts of cuBLAS load lazily, at the first kernel that needs them, hence the probe below.
missing=$(ldd "$bin/libonnxruntime_providers_cuda.so" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
if [ -n "$missing" ]; then
  echo "::error::the CUDA provider cannot load: ${missing}not found (install CUDA 12 and cuDNN 9, see docs/gpu-runner.md)"
  exit 1
fi
node -e "require('onnxruntime-node'); console.log('onnxruntime-node binding loads; CUDA provider present')"
# A real session on CUDAExecutionProvider (MatMul → Softmax → ReduceSum): every node must run on the GPU
# and agree with the CPU provider; see docs/gpu-runner.md for what a failure means.
npx tsx .github/scripts/probe-device.ts cuda
