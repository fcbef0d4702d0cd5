#!/usr/bin/env bash
# Hybrid speed on a real-size model, run on the GPU machine after
# cuda/gpu-check.sh has unpacked the binaries: synthesizes gpt-oss-20b
# (PRESET/TYPE override) and benchmarks decode and prefill CPU-only,
# experts-on-CPU and all-on-GPU in one process (same machine, same run).
set -uo pipefail
OUTDIR=${1:-${OUT:-/tmp/gpu-check-out}}
W=${W:-$(mktemp -d)}
if [ ! -x "$W/gguftool" ]; then
  tar xzf bin/gpu.tgz -C "$W" && gunzip "$W"/*.gz && chmod +x "$W"/*
fi
PRESET=${PRESET:-gpt-oss-20b}
TYPE=${TYPE:-f16}
MODEL=/tmp/$PRESET-$TYPE.gguf
echo "== synth $PRESET $TYPE"
"$W/gguftool" synth --preset "$PRESET" --type "$TYPE" -o "$MODEL" --force
echo "== cpu: $(nproc) cores; $(free -g | awk '/Mem/{print $2}') GB RAM"
cd runtime/gpu
GGUFTOOL_BENCH_MODEL=$MODEL "$W/runtime-gpu.test" -test.run '^$' -test.bench 'HybridDecode' -test.benchtime 16x 2>&1 | tee -a "$OUTDIR/bench.log"
GGUFTOOL_BENCH_MODEL=$MODEL "$W/runtime-gpu.test" -test.run '^$' -test.bench 'HybridPrefill' -test.benchtime 2x 2>&1 | tee -a "$OUTDIR/bench.log"
