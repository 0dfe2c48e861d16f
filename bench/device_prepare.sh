#!/usr/bin/env bash
# Fills .devcarry/ (git-ignored) for bench/device_run.sh: stripped binaries, the Debian
# libraries a lent GPU machine lacks, and the small reference dumps. Run after `make` and
# `make refs` on the development machine.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx "/.devcarry/" .git/info/exclude 2>/dev/null || echo "/.devcarry/" >> .git/info/exclude
rm -rf .devcarry && mkdir -p .devcarry/bin .devcarry/ref /tmp/drcarry/lib /tmp/drcarry/libfallback
for b in build/bin/dr_tests build/bin/bench_*; do strip -g -o .devcarry/bin/$(basename $b) $b; done
# libdnnl (oneDNN, f32 CPU convolutions) links libOpenCL (its GPU runtime, unused here).
for l in libstb.so.0 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgomp.so.1 \
         libdnnl.so.2 libOpenCL.so.1; do
  cp -L /lib/x86_64-linux-gnu/$l /tmp/drcarry/lib/; done
cp -L /lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1 /tmp/drcarry/libfallback/
tar cJf .devcarry/libs.tar.xz -C /tmp/drcarry lib libfallback
# Small dumps travel; the big random-model ones are remade on the device (refs step).
for f in build/ref/*.bin; do [ $(stat -c %s $f) -lt 4000000 ] && cp $f .devcarry/ref/; done
rm -f .devcarry/bin/bench_eval .devcarry/bin/bench_loader  # need ../shared data or are CPU-only
du -sh .devcarry
