#!/usr/bin/env bash
# The hybrid expert scheduler's measurement, run on the GPU machine:
#   bash cuda/gpu-hybrid.sh OLD NEW [OUTDIR]
# OLD and NEW are gguftool binaries (e.g. built before and after a change,
# carried in a git-ignored folder). It synthesizes gpt-oss-20b in the F16
# layout (13.8 GB, ~15 s), then runs `bench --vram 4GiB --ctx 4096 -n 128
# -r 2 --json` with OLD, and with NEW under each --experts-on mode and fixed
# CPU shares, one after the other on the same machine, and prints a table:
# pp/tg tokens/s and, per test, where the experts ran and the measured costs
# (docs/runtime.md, "Experts in CPU memory on a GPU run").
set -uo pipefail
OLD=$1 NEW=$2
OUTDIR=${3:-${OUT:-/tmp/gpu-hybrid-out}}
mkdir -p "$OUTDIR"
MODEL=${MODEL:-/tmp/gpt-oss-20b-f16-hybrid.gguf}
[ -f "$MODEL" ] || "$NEW" synth --preset gpt-oss-20b --type f16 -o "$MODEL" || exit 1
A="$MODEL --vram 4GiB --ctx 4096 -n 128 -r 2 --json"
run() {
  name=$1; shift
  s=$(date +%s)
  timeout 150 "$@" >"$OUTDIR/$name.json" 2>>"$OUTDIR/log.txt"
  echo "$name rc=$? $(($(date +%s) - s)) s" | tee -a "$OUTDIR/log.txt"
}
run old "$OLD" bench $A -p 512
run gpu "$NEW" bench $A -p 512 --experts-on gpu
run auto "$NEW" bench $A -p 512 --experts-on auto
run fix1 "$NEW" bench $A -p 512 --cpu-experts 1
run fix2 "$NEW" bench $A -p 64 --cpu-experts 2
run cpu "$NEW" bench $A -p 16 --experts-on cpu
OUTDIR=$OUTDIR python3 - <<'PY'
import json, os
o = os.environ['OUTDIR']
for n in ['old', 'gpu', 'auto', 'fix1', 'fix2', 'cpu']:
    try:
        r = json.load(open(f'{o}/{n}.json'))
    except Exception as e:
        print(n, 'no result:', e)
        continue
    print(f"{n:5}", ' '.join(f"{x['test']} {x['tokens_per_s']:.1f}±{x['sd']:.1f}" for x in r['results']),
          f"vram {r.get('vram_used_bytes', 0) >> 20} MiB")
    for t, st in (r.get('experts') or {}).items():
        c = (st.get('measured_costs') or [{}])[0]
        print(f"   {t}: cpu experts {st['cpu_expert_products']}, streamed {st['streamed_experts']},"
              f" mixed {st['mixed_layer_batches']}/{st['layer_batches']};"
              f" ms/expert cpu {c.get('cpu_ms_per_expert', 0):.3f} (+{c.get('cpu_ms_per_extra_token', 0):.3f}/token)"
              f" gpu {c.get('gpu_ms_per_expert', 0):.3f} (+{c.get('gpu_ms_per_extra_token', 0):.4f}/token);"
              f" decode split model {c.get('decode_cpu_experts')} chosen {c.get('decode_cpu_experts_chosen')}"
              f" layer ms by cpu count {[round(v, 3) for v in c.get('decode_layer_ms_by_cpu_experts') or []]};"
              f" all streamed from {c.get('all_gpu_from_tokens')} tokens")
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
