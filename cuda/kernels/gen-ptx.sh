#!/usr/bin/env bash
# Regenerates the PTX of every kernel source in this directory with nvcc.
# Each .ptx (embedded as .ptx.gz) starts with "// gguftool-source-sha256: <hex>", the sha256 of
# common.cuh followed by the .cu source, which TestPTXMatchesSources checks.
# Usage: cuda/kernels/gen-ptx.sh [file.cu...]   (NVCC, NVCC_ARCH override)
set -euo pipefail
cd "$(dirname "$0")"
NVCC=${NVCC:-nvcc}
ARCH=${NVCC_ARCH:-compute_80}   # PTX for sm_80; the driver JITs it for newer GPUs
srcs=("$@")
[ ${#srcs[@]} -eq 0 ] && srcs=(*.cu)
status=0
for cu in "${srcs[@]}"; do
  ptx="${cu%.cu}.ptx"
  if ! "$NVCC" -ptx -arch="$ARCH" -O3 -std=c++17 -o "$ptx.tmp" "$cu"; then
    echo "gen-ptx: $cu failed" >&2; status=1; rm -f "$ptx.tmp"; continue
  fi
  sum=$(cat common.cuh "$cu" | sha256sum | cut -d' ' -f1)
  { printf '// gguftool-source-sha256: %s\n' "$sum"; cat "$ptx.tmp"; } > "$ptx"
  rm -f "$ptx.tmp"
  # Embedded compressed (-n: no name or time, so the same PTX gives the
  # same bytes); the plain .ptx stays beside it, git-ignored, for reading.
  gzip -9n < "$ptx" > "$ptx.gz"
  echo "gen-ptx: $ptx.gz ($(wc -c < "$ptx") bytes of PTX, $(wc -c < "$ptx.gz") compressed)"
done
exit $status
