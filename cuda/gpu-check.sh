#!/usr/bin/env bash
# GPU check for a machine with nvcc and an NVIDIA GPU but no Go (the lent
# GPU machine): compiles the kernels to PTX from the sources in the tree,
# reports ptxas resource use, measures the CUDA context's VRAM overhead,
# and runs the GPU tests against the fresh PTX.
#
# Prepare here:   make gpu-tests-archive   (builds bin/gpu.tgz: gguftool and the test binaries)
# Run there:      cuda/gpu-check.sh [OUTDIR]
# OUTDIR gets ptx.tgz (the generated PTX, to commit after `tar xzf` into
# cuda/kernels) and gpu-check.log.
set -uo pipefail
OUTDIR=${1:-${OUT:-/tmp/gpu-check-out}}
mkdir -p "$OUTDIR"
LOG="$OUTDIR/gpu-check.log"
exec > >(tee "$LOG") 2>&1
ROOT=$(pwd)
W=$(mktemp -d)
export W
if [ -f bin/gpu.tgz ]; then tar xzf bin/gpu.tgz -C "$W"; else cp -r bin/gpu/. "$W/"; fi
for f in "$W"/*.gz; do [ -e "$f" ] && gunzip "$f"; done
chmod +x "$W"/*

echo "== machine"
nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv
nvcc --version | tail -2

echo "== PTX"
mkdir -p "$W/ptx"
cp cuda/kernels/*.cu cuda/kernels/common.cuh cuda/kernels/gen-ptx.sh "$W/ptx/"
(cd "$W/ptx" && ./gen-ptx.sh) || echo "PTX GENERATION FAILED"
(cd "$W/ptx" && tar czf "$OUTDIR/ptx.tgz" *.ptx)

echo "== ptxas resource use (sm_90)"
for cu in "$W"/ptx/*.cu; do
  nvcc -cubin -arch=sm_90 -O3 -std=c++17 -Xptxas -v -o /dev/null "$cu" >> "$OUTDIR/ptxas.log" 2>&1
done
grep -E "spill (stores|loads) [1-9]|stack frame" "$OUTDIR/ptxas.log" | sort | uniq -c | sort -rn | head -8

echo "== gguftool devices"
"$W/gguftool" devices; echo "exit $?"
"$W/gguftool" devices --json

echo "== context overhead (fresh process)"
(cd cuda && "$W/cuda.test" -test.run 'TestContextOverheadGPU' -test.v -ptxdir "$W/ptx")

echo "== cuda package GPU tests"
(cd cuda && "$W/cuda.test" -test.run 'GPU|Open' -test.skip ContextOverhead -test.v)

echo "== kernel tests"
(cd cuda/ops && "$W/cudaops.test" -test.v -ptxdir "$W/ptx") | tee "$W/ops.log" | grep -vE "^(=== RUN|    gpu_test.go:[0-9]+: seed)"

echo "== runtime GPU backend: fixtures hybrid vs CPU"
if [ -x "$W/runtime-gpu.test" ]; then
  (cd runtime/gpu && GGUFTOOL_PTX_DIR="$W/ptx" "$W/runtime-gpu.test" -test.v -test.run "OnGPU|Fake|AttentionBlock|GPTOSSExecutor") | tee "$W/rgpu.log" | grep -E "^(HYBRID|--- |FAIL|ok|PASS)|Error|error|executor|attention block" | head -80
  cat "$W/rgpu.log" >> "$W/ops.log"
fi

echo "== summary"
grep -hE "^(GPUCHECK|GPUBW|CTXOVERHEAD|GPUDEVICE)" "$LOG" "$W/ops.log" | sort -u | grep -c PASS | sed 's/^/kernel checks passed: /'
if grep -q -- "--- FAIL\|^FAIL" "$W/ops.log" "$LOG"; then
  grep -h -- "--- FAIL\|^FAIL" "$W/ops.log" | head -20
  exit 1
fi
echo "all GPU tests passed"
