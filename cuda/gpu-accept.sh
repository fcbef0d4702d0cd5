#!/usr/bin/env bash
# Acceptance of `gguftool run` on GPU plans (issue 7), for the GPU machine
# (no Go there: carry a stripped gguftool, see below). Runs, in order of
# importance, writing everything under OUTDIR (at most 4 files):
#   1. gpt-oss-20b F16 layout (synthesized), all experts in CPU memory,
#      4k context, --vram 4GiB: run --validate --reps 3 while nvidia-smi
#      samples the process's VRAM (bench pp512/tg128 on it after 3);
#   2. every fixture (converted here at f16 and q8_0) with --validate under
#      two plans: all routed experts in CPU memory, and some expert tensors
#      on the GPU;
#   3. a larger gpt-oss-20b plan that keeps expert layers on the GPU (8GiB);
#   4. the Q8_0 layout: the plan at 2GiB (or why not) and a run at the
#      smallest budget that fits.
# Prepare here:  CGO_ENABLED=0 go build -ldflags='-s -w' -o bin/accept/gguftool ./cmd/gguftool && gzip -9 bin/accept/gguftool
# Run there:     cuda/gpu-accept.sh "$OUT"      (carry bin/accept)
# Locally, without a GPU: GGUFTOOL_FAKE_GPU=16GiB SKIP_20B=1 cuda/gpu-accept.sh /tmp/acc
# QUICK=1: fixtures at f16 only, no 8GiB/all-GPU benches, no default-stack run.
set -uo pipefail
OUTDIR=${1:-${OUT:-/tmp/gpu-accept}}
mkdir -p "$OUTDIR"
LOG="$OUTDIR/accept.log"
RES="$OUTDIR/results.jsonl"
SMI="$OUTDIR/smi.csv"
exec > >(tee -a "$LOG") 2>&1
W=$(mktemp -d)
if [ -f bin/accept/gguftool.gz ]; then gunzip -c bin/accept/gguftool.gz > "$W/gguftool"; else cp bin/accept/gguftool "$W/gguftool"; fi
chmod +x "$W/gguftool"
# Optional: the kernel tests (make gpu-tests; carried as bin/accept/cudaops.test.gz).
[ -f bin/accept/cudaops.test.gz ] && gunzip -c bin/accept/cudaops.test.gz > "$W/cudaops.test" && chmod +x "$W/cudaops.test"
G="$W/gguftool"
MB=1048576
HAVE_SMI=0
command -v nvidia-smi >/dev/null && HAVE_SMI=1

# sampled NAME CMD...: runs CMD with its stdout appended to RES (one JSON
# object, compacted, tagged with NAME and the nvidia-smi peak of CMD's pid).
sampled() {
  local name=$1; shift
  local tmp="$W/$name.json" smi="$W/$name.smi"
  : > "$smi"
  "$@" > "$tmp" &
  local pid=$!
  local spid=
  if [ $HAVE_SMI = 1 ]; then
    ( while kill -0 $pid 2>/dev/null; do
        nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null | sed "s/^/$(date +%s.%N),/" >> "$smi"
        sleep 0.2
      done ) &
    spid=$!
  fi
  wait $pid; local rc=$?
  [ -n "$spid" ] && wait $spid
  cat "$smi" | sed "s/^/$name,/" >> "$SMI"
  local peak
  peak=$(awk -F', *' -v p=$pid '$2==p && $3+0>m {m=$3+0} END {print m+0}' "$smi")
  python3 - "$name" "$rc" "$peak" "$tmp" >> "$RES" <<'EOF'
import json, sys
name, rc, peak, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    r = json.load(open(path))
except Exception as e:
    r = {"error": "no JSON: %s" % e, "stdout": open(path).read()[-2000:]}
r = {"name": name, "exit": rc, "nvidia_smi_peak_mib": peak, **r}
for k in ("prompt_ids", "generated_ids", "text"):
    r.pop(k, None)
if "validation" in r and r["validation"]:
    r["validation"].pop("cpu_tokens", None)
print(json.dumps(r))
EOF
  python3 - "$name" "$RES" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = [json.loads(l) for l in open(path) if l.strip()][-1]
mib = lambda b: (b or 0) / 1048576
v = r.get("validation") or {}
line = "SUMMARY %-28s exit %s" % (name, r.get("exit"))
if "vram_planned_bytes" in r:
    line += "  planned %.0f MiB  used(cuMemGetInfo) %.0f MiB  nvidia-smi %d MiB" % (mib(r["vram_planned_bytes"]), mib(r.get("vram_used_bytes")), r["nvidia_smi_peak_mib"])
    if r["vram_planned_bytes"]:
        line += "  smi/plan %.3f" % (r["nvidia_smi_peak_mib"] * 1048576 / r["vram_planned_bytes"])
if "decode_tokens_per_s_stat" in r:
    d, p, t = r["decode_tokens_per_s_stat"], r["prefill_tokens_per_s_stat"], r["ttft_ms_stat"]
    line += "  decode %.2f±%.2f tok/s  prefill %.1f±%.1f tok/s  TTFT %.1f±%.1f ms" % (d["mean"], d["sd"], p["mean"], p["sd"], t["mean"], t["sd"])
if "results" in r:
    line += "  " + "  ".join("%s %.2f±%.2f" % (x["test"], x["tokens_per_s"], x["sd"]) for x in r["results"])
if v:
    line += "  top1 %d/%d+%d/%d greedy=%s max|dlogit| %.2e" % (v["prompt_top1_agree"], v["prompt_positions"], v["decode_top1_agree"], v["decode_steps"], v["greedy_tokens_match"], v["max_abs_logit_diff"])
if "error" in r:
    line += "  " + r["error"][:200]
print(line)
EOF
}

# min_vram MODEL: the smallest --vram the gguftool runtime plan accepts.
min_vram() {
  "$G" plan "$1" --vram 1MiB --runtime gguftool ${2:-} --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["min_vram_bytes"])'
}

echo "== machine"
[ $HAVE_SMI = 1 ] && nvidia-smi --query-gpu=name,memory.used,memory.total,driver_version --format=csv
echo "cpu: $(nproc) cores"
"$G" devices

if [ -x "$W/cudaops.test" ]; then
  echo "== 0. kernels against their CPU twins"
  (cd cuda/ops && "$W/cudaops.test" -test.run 'GPU' 2>&1 | grep -E "^(--- |FAIL|ok|PASS)|FAIL" | grep -v "^--- PASS" ; echo "cudaops.test exit ${PIPESTATUS[0]}")
fi

# synth's values are those of a freshly initialized network (well-conditioned since
# synth a344b81), so --validate on the 20b is a real check: on the CPU, TF32-rounded
# prompt products move its logits by ~3e-3 (F16) and keep every top-1; an isolated
# router flip can move one row by ~0.06. The old synth was chaotic (2/16, |Δ| 13.5).
P16=1,17,230,5,99,64,12,7,301,45,2,88,1000,4000,77,9
if [ -z "${SKIP_20B:-}" ]; then
  echo "== 1. gpt-oss-20b F16 layout, --vram 4GiB, 4k context, all experts in CPU memory"
  M=/tmp/gpt-oss-20b-f16.gguf
  time "$G" synth --preset gpt-oss-20b -o $M --force
  "$G" plan $M --vram 4GiB --ctx 4096 --runtime gguftool | head -20
  sampled f16-4GiB-run "$G" run $M --vram 4GiB --ctx 4096 --tokens $P16 -n 32 --validate --reps 3 --json
  for e in auto $([ -z "${QUICK:-}" ] && echo gpu); do
    sampled f16-4GiB-bench-$e "$G" bench $M --vram 4GiB --ctx 4096 -p 512 -n 128 -r 2 --experts-on $e --json
  done
  # Same-call baselines: without the cross-layer expert prefetch, and
  # without it and the tiled prefill attention (both on by default).
  sampled f16-4GiB-bench-noprefetch env GGUFTOOL_PREFETCH_EXPERTS=0 "$G" bench $M --vram 4GiB --ctx 4096 -p 512 -n 16 -r 2 --json
  sampled f16-4GiB-bench-noprefetch-untiled env GGUFTOOL_PREFETCH_EXPERTS=0 GGUFTOOL_ATTN_TILED=0 "$G" bench $M --vram 4GiB --ctx 4096 -p 512 -n 16 -r 2 --json
  # Strictly every routed expert in CPU memory (--cpu-moe; the 4 GiB plan
  # above puts the last layers' experts in the VRAM it has left).
  sampled f16-4GiB-cpumoe-run "$G" run $M --vram 4GiB --cpu-moe --ctx 4096 --tokens $P16 -n 32 --validate --reps 2 --json
  sampled f16-4GiB-cpumoe-bench "$G" bench $M --vram 4GiB --cpu-moe --ctx 4096 -p 512 -n 128 -r 2 --json
  echo "== 1b. where the time goes (GPU time per kernel, one profiled pp512 and tg32)"
  "$G" bench $M --vram 4GiB --ctx 4096 -p 512 -n 32 -r 1 --profile | tail -40
fi

echo "== 2. fixtures: GPU plans vs the CPU runtime (--validate)"
# 20 tokens in passes of 16: the first pass takes the tensor-core GEMM path
# (≥ 16 tokens), the second (4 tokens) the other one.
PF=1,17,230,5,99,64,12,7,301,45,2,88,1000,400,77,9,33,600,120,300
for fam in gpt-oss phimoe deepseek-moe deepseek-v2-lite; do
  for ot in f16 $([ -z "${QUICK:-}" ] && echo q8_0); do
    F="$W/$fam-$ot.gguf"
    "$G" convert testdata/fixtures/$fam -o "$F" --outtype $ot --force > /dev/null || { echo "convert $fam $ot failed"; continue; }
    min=$(min_vram "$F" "--ubatch 16")
    sampled fix-$fam-$ot-cpuexperts "$G" run "$F" --vram $min --ubatch 16 --tokens $PF -n 8 --validate --json
    sampled fix-$fam-$ot-mixed "$G" run "$F" --vram $((min + 8*MB)) --ubatch 16 --tokens $PF -n 8 --validate --json
  done
done

if [ -z "${SKIP_20B:-}" ]; then
  echo "== 3. gpt-oss-20b F16, larger plan with expert layers on the GPU (--vram 8GiB)"
  "$G" plan $M --vram 8GiB --ctx 4096 --runtime gguftool | head -12
  sampled f16-8GiB-run "$G" run $M --vram 8GiB --ctx 4096 --tokens $P16 -n 64 --reps 2 --validate --json
  if [ -z "${QUICK:-}" ]; then
    sampled f16-8GiB-bench "$G" bench $M --vram 8GiB --ctx 4096 -p 512 -n 128 -r 2 --json
    echo "== 3b. all on the GPU (reference)"
    sampled f16-all-gpu-bench "$G" bench $M --vram 40GiB --ctx 4096 -p 512 -n 128 -r 2 --json
    sampled f16-all-gpu-bench-untiled env GGUFTOOL_ATTN_TILED=0 "$G" bench $M --vram 40GiB --ctx 4096 -p 512 -n 16 -r 2 --json
  fi
  rm -f $M
  echo "== 4. gpt-oss-20b Q8_0 layout"
  M=/tmp/gpt-oss-20b-q8_0.gguf
  time "$G" synth --preset gpt-oss-20b --type q8_0 -o $M --force
  "$G" plan $M --vram 2GiB --ctx 4096 --runtime gguftool; echo "plan --vram 2GiB exit $?"
  min=$(min_vram $M "--ctx 4096")
  echo "Q8_0 smallest budget at 4k: $min bytes ($((min / MB)) MiB)"
  sampled q8-2GiB-run "$G" run $M --vram 2GiB --ctx 4096 --tokens $P16 -n 32 --validate --reps 2 --json
  sampled q8-2GiB-bench "$G" bench $M --vram 2GiB --ctx 4096 -p 512 -n 128 -r 2 --json
  sampled q8-2GiB-bench-noprefetch env GGUFTOOL_PREFETCH_EXPERTS=0 "$G" bench $M --vram 2GiB --ctx 4096 -p 512 -n 16 -r 2 --json
  # The CUDA context with the driver's default per-thread stack (ops.Load
  # lowers it to 256 B): what the lower limit saves.
  [ -z "${QUICK:-}" ] && sampled q8-2GiB-run-default-stack env GGUFTOOL_CUDA_STACK=default "$G" run $M --vram 2GiB --ctx 4096 --tokens $P16 -n 8 --json
  min2k=$(min_vram $M "--ctx 2048")
  echo "Q8_0 smallest budget at 2k: $min2k bytes ($((min2k / MB)) MiB)"
  rm -f $M
fi
echo "== summary"
grep -h "^SUMMARY" "$LOG" | sort -u
