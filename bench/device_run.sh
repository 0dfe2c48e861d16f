#!/usr/bin/env bash
# One call on a lent GPU machine (see bench/RESULTS.md for what earlier calls found).
# Everything is built on the development machine and carried in .devcarry/ (git-ignored):
#   .devcarry/bin/        stripped dr_tests and bench_* built against /usr/local/cuda 13.0
#   .devcarry/libs.tar.xz the Debian libraries the device lacks (stb, OpenBLAS, gfortran,
#                         quadmath, gomp; libstdc++/libgcc_s only as a fallback)
#   .devcarry/ref/        the small reference dumps; the large ones (random R50 models) are
#                         made here by the same tools/ref scripts with the device's torch.
# Usage (on the device): bash bench/device_run.sh [STEP ...]; steps: env refs gpu bench
# ($OUT gets the logs). Prepare with bench/device_prepare.sh.
set -uo pipefail
OUT=${OUT:-/tmp/dr_out}; mkdir -p "$OUT"
C=.devcarry
export DR_PYTHON=${DR_PYTHON:-$(command -v python3)}
mkdir -p /tmp/drlib && tar xJf $C/libs.tar.xz -C /tmp/drlib
NV=$($DR_PYTHON -c "import nvidia, os; print(':'.join(sorted(os.path.join(p, d, 'lib') for p in nvidia.__path__ for d in os.listdir(p) if os.path.isdir(os.path.join(p, d, 'lib')))))" 2>/dev/null)
export LD_LIBRARY_PATH=/tmp/drlib/lib:$NV${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ldd $C/bin/dr_tests | grep -q "libstdc++.*not found\|GLIBCXX.*not found"; then
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/tmp/drlib/libfallback
fi
export DR_REF_DIR=$PWD/build/ref DR_BIN_DIR=$PWD/$C/bin
mkdir -p build/ref && cp $C/ref/*.bin build/ref/ 2>/dev/null
steps=${*:-env refs gpu bench}
declare -A result
for s in $steps; do
  t0=$(date +%s)
  case $s in
    env)
      { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
        echo "python: $DR_PYTHON"; $DR_PYTHON -c "import torch, torchvision; print('torch', torch.__version__, 'tv', torchvision.__version__, 'cuda', torch.cuda.is_available())"
        echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ldd $C/bin/dr_tests | grep -i "not found" || echo "ldd: all libraries found"
      } 2>&1 | tee $OUT/env.log; rc=$? ;;
    refs)
      ( $DR_PYTHON tools/ref/backbone.py build/ref/backbone.bin > $OUT/ref_backbone.log 2>&1 & 
        $DR_PYTHON tools/ref/detector.py build/ref/detector.bin > $OUT/ref_detector.log 2>&1 &
        wait ); rc=0; ls build/ref >> $OUT/ref_detector.log ;;
    gpu)
      DR_REQUIRE_GPU=1 $C/bin/dr_tests --test-case='gpu:*' 2>&1 | tee $OUT/gpu_tests.log; rc=$? ;;
    bench)
      for b in detops conv detector train_step; do
        [ -x $C/bin/bench_$b ] || continue
        echo "== bench_$b --quick"; timeout 240 $C/bin/bench_$b --quick
      done 2>&1 | tee $OUT/bench.log; rc=$? ;;
    *) echo "unknown step $s"; rc=2 ;;
  esac
  result[$s]="rc=$rc $(( $(date +%s) - t0 ))s"
done
echo; echo "step     result"
for s in $steps; do printf "%-8s %s\n" "$s" "${result[$s]}"; done
grep -E "test cases:|assertions:" $OUT/gpu_tests.log 2>/dev/null | tail -2
