#!/usr/bin/env bash
# The tensor-core matrix product (cuda/kernels/gemm.cu) on the GPU machine,
# in one call: its GPU-vs-twin tests, kernel timings against the CUDA-core
# kernel, a fixture run validated against the CPU runtime with a prompt long
# enough to use it, and gpt-oss-20b (F16 layout) pp512 end to end with the
# tensor-core kernel off (GGUFTOOL_GEMM_MIN_TOKENS=0) and on, in one binary.
# PTXVARIANTS names extra PTX directories (each with every module's .ptx, one
# gemm.ptx changed, e.g. built with -DGM_WARPS=8) tested and timed beside the
# embedded kernels. Build here first (no Go on the GPU machine):
#   CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/gemm/gguftool ./cmd/gguftool
#   CGO_ENABLED=0 go test -c -tags cuda -ldflags='-s -w' -o bin/gemm/ops.test ./cuda/ops
#   gzip -f bin/gemm/gguftool bin/gemm/ops.test
# then run `cuda/gpu-gemm.sh` there with carry ["bin/gemm"]. Logs: $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gemm-out}
mkdir -p "$OUT"
R=$(mktemp -d) # per-run JSON and stderr, tarred into $OUT/results.tgz
W=$(mktemp -d)
for f in bin/gemm/*.gz; do
  b=$(basename "$f" .gz)
  gunzip -c "$f" > "$W/$b" && chmod +x "$W/$b"
done
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
VRAMS=${VRAMS:-4GiB 40GiB}
VARIANTS="embedded ${PTXVARIANTS:-}"
# ptxdir: the PTX directory of a variant ("" for the embedded PTX; "off"
# runs the embedded PTX with the tensor-core kernel turned off).
ptxdir() { case "$1" in embedded | off) ;; *) echo "$PWD/$1" ;; esac; }
vname() { case "$1" in embedded) echo emb ;; off) echo off ;; *) basename "$1" ;; esac; }

echo "== 1. GPU tests (gemm and matmul against the twin) and kernel timings"
for v in $VARIANTS; do
  n=$(vname $v)
  t0=$(date +%s)
  d=$(ptxdir $v)
  (cd cuda/ops && "$W/ops.test" -test.run "${TESTS:-TestGemm|TestMatMulGPU|TestMatMulIDGPU}" -test.v -ptxdir "$d" 2>&1) > "$OUT/ops-$n.log"
  echo "ops.test [$n] exit $? ($(( $(date +%s) - t0 )) s); GPUCHECK PASS lines: $(grep -c '^GPUCHECK.*PASS$' "$OUT/ops-$n.log")"
  grep -E "^GPUCHECK gemm" "$OUT/ops-$n.log" | sed 's/.*rel_l2 \([^ ]*\).*/\1/' | sort -g | tail -1 | sed "s/^/worst gemm rel_l2 [$n]: /"
  grep -E "FAIL|panic" "$OUT/ops-$n.log" | head -12
  grep -E "^GPUGEMM" "$OUT/ops-$n.log" | sed "s/^GPUGEMM/GPUGEMM[$n]/"
done

echo "== 2. fixture gpt-oss f16, 40-token prompt, all on the GPU, --validate"
F=/tmp/fix-gpt-oss-f16.gguf
"$W/gguftool" convert testdata/fixtures/gpt-oss -o $F --outtype f16 --force > /dev/null
P40=1,17,230,5,99,64,12,7,201,45,2,88,100,40,77,9,3,250,31,60,11,19,23,29,37,41,43,47,53,59,61,67,71,73,79,83,89,97,101,103
for v in off $VARIANTS; do
  E=; [ $v = off ] && E=0
  n=$(vname $v)
  GGUFTOOL_PTX_DIR=$(ptxdir $v) GGUFTOOL_GEMM_MIN_TOKENS=$E "$W/gguftool" run $F --vram 40GiB --tokens $P40 -n 8 --validate --json > "$R/fix-$n.json" 2> "$R/fix-$n.err"
  rc=$?
  echo "fixture gemm=$n exit $rc: $(python3 -c "import json; d=json.load(open('$R/fix-$n.json')); print(json.dumps(d.get('validation'))[:300])" 2>&1 | tail -1)"
done

echo "== 3. gpt-oss-20b F16 layout: pp512, tensor-core kernel off vs on"
M=/tmp/gpt-oss-20b-f16.gguf
t0=$(date +%s)
"$W/gguftool" synth --preset gpt-oss-20b -o $M --force > /dev/null
echo "synth $(( $(date +%s) - t0 )) s"
for vram in $VRAMS; do
  for v in off $VARIANTS; do
    E=; extra=--profile
    [ $v = off ] && E=0 && extra=
    n=$(vname $v)
    t0=$(date +%s)
    GGUFTOOL_PTX_DIR=$(ptxdir $v) GGUFTOOL_GEMM_MIN_TOKENS=$E "$W/gguftool" bench $M --vram $vram --ctx 4096 -p 512 -n 0 -r 2 --json $extra > "$R/bench-$vram-$n.json" 2> "$R/bench-$vram-$n.err"
    rc=$?
    python3 - "$R/bench-$vram-$n.json" "$vram" "$n" "$rc" "$(( $(date +%s) - t0 ))" <<'EOF'
import json, sys
path, vram, v, rc, secs = sys.argv[1:]
try:
    d = json.load(open(path))
except Exception as e:
    print(f"BENCH vram={vram} {v}: exit {rc}, no JSON ({e})"); sys.exit()
res = [r for r in d.get("results", []) if str(r.get("test", "")).startswith("pp")]
pp = "; ".join(f"{r['test']} {r['tokens_per_s']:.1f} ± {r['sd']:.1f} tok/s" for r in res)
print(f"BENCH vram={vram} gemm={v}: exit {rc}, {secs} s, gpu {d.get('machine', {}).get('gpu')}, {pp}, vram_used {d.get('vram_used_bytes', 0) >> 20} MiB")
for p in d.get("profile") or []:
    g = p.get("gpu") or {}
    ents = sorted(g.get("entries") or [], key=lambda e: -e.get("ms", 0))
    print(f"PROFILE {p.get('test')}: wall {p.get('wall_ms', 0):.1f} ms, span {g.get('span_ms', 0):.1f} ms: " + ", ".join(f"{e['name']} {e['ms']:.1f}ms/{e['count']}" for e in ents[:8]))
EOF
  done
done
rm -f $M
tar czf "$OUT/results.tgz" -C "$R" .
