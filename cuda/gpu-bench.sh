#!/usr/bin/env bash
# Hybrid speed on real-size models, run on the GPU machine (needs
# bin/gpu.tgz, see cuda/gpu-check.sh). For each TYPES entry it synthesizes
# gpt-oss-20b of that layout and runs the benchmarks named by BENCH
# (default: the gpt-oss GPU executor; "Hybrid" adds the runtime.Backend
# per-matmul path and the CPU-only baseline), all in one process per model.
set -uo pipefail
OUTDIR=${1:-${OUT:-/tmp/gpu-check-out}}
W=${W:-$(mktemp -d)}
if [ ! -x "$W/gguftool" ]; then
  tar xzf bin/gpu.tgz -C "$W" && gunzip "$W"/*.gz && chmod +x "$W"/*
fi
PRESET=${PRESET:-gpt-oss-20b}
TYPES=${TYPES:-f16 q8_0}
BENCH=${BENCH:-GPTOSSExecutor}
BENCHTIME=${BENCHTIME:-32x}
echo "== cpu: $(nproc) cores; $(free -g | awk '/Mem/{print $2}') GB RAM"
for TYPE in $TYPES; do
  MODEL=/tmp/$PRESET-$TYPE.gguf
  echo "== synth $PRESET $TYPE"
  "$W/gguftool" synth --preset "$PRESET" --type "$TYPE" -o "$MODEL" --force
  (cd runtime/gpu && GGUFTOOL_BENCH_MODEL=$MODEL "$W/runtime-gpu.test" -test.run '^$' -test.bench "$BENCH" -test.benchtime "$BENCHTIME" 2>&1) | tee -a "$OUTDIR/bench.log"
  rm -f "$MODEL"
done
