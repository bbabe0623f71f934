#!/usr/bin/env bash
# The GPU checks of the performance issue, for a lent GPU machine (no network). Prepare here with
# `node scripts/device-pack.mjs`, then run through the device tool with carry [".device"]:
#   bash scripts/device-check.sh
# It prints one report (also written to $OUT/device-check.md): the machine, whether Dawn finds a Vulkan adapter,
# rtune's GPU benchmark on webgpu (and wasm on the machine's cores for one workload), stories260K's perplexity on
# each backend (they must agree), and PyTorch's numbers for the same shapes where PyTorch is installed. Each step
# has its own time limit (at most 7.5 minutes in all; about 3 expected) so one hang cannot eat the device budget.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
R="$OUT/device-check.md"
D=.device
[ -f "$D/stage/dist/device-bench.js" ] || { echo "no $D/stage/dist/device-bench.js: run node scripts/device-pack.mjs here first and carry .device" >&2; exit 2; }
say() { echo "$@" | tee -a "$R"; }
: >"$R"
say "# rtune device check, $(date -u +%Y-%m-%dT%H:%MZ)"
say '```'
say "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -3)"
say "node $(node --version 2>&1); $(nproc) cores; $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
say "vulkan ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
say "vulkan loader: $(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>/dev/null || echo "none on the machine (using the carried one)")"
say "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-unset}"
say '```'
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || export LD_LIBRARY_PATH="$PWD/$D/lib:${LD_LIBRARY_PATH:-}"
W=${DEVICE_CHECK_WORKLOADS:-gpt2-12,qwen2-0.5b}
WW=${DEVICE_CHECK_WASM_WORKLOADS:-gpt2-12}
B="node $D/stage/dist/device-bench.js --stories $D/data/stories260K.bin"
say ""
say "## rtune, webgpu"
timeout 240 $B --backend webgpu --workloads "$W" --steps 3 2>"$OUT/webgpu.stderr" | tee -a "$R"
say "(exit ${PIPESTATUS[0]}; stderr tail:)"
tail -5 "$OUT/webgpu.stderr" | tee -a "$R"
say ""
say "## rtune, wasm ($(nproc) threads), GPT-2-small shape only"
timeout 90 $B --backend wasm --workloads "$WW" --steps 2 2>"$OUT/wasm.stderr" | tee -a "$R"
say "(exit ${PIPESTATUS[0]})"
tail -3 "$OUT/wasm.stderr" | tee -a "$R"
say ""
say "## PyTorch, same shapes (plain attention, fp32)"
if python3 -c 'import torch' 2>/dev/null; then
  timeout 120 python3 scripts/device/torch_bench.py 3 2>&1 | tee -a "$R"
else
  say "PyTorch is not installed here: $(python3 --version 2>&1)"
fi
