#!/usr/bin/env bash
# The generated-domain goals on one GPU, in one call of at most 10 minutes: train the skeleton generator and MING
# (binary Laplacian, cross-pair mixing) side by side, time one command that samples 10,000 QM9 molecules on generated
# domains (start-up and skeleton stage included), then sample 3 x 10,000 on generated and on template domains and
# score them under the gdss and strict protocols. Every stage's wall time goes to the log.
#
#   bash bench/gpu_generated_domains.sh prepare   # on a machine that reaches PyPI: wheels -> .whl/, QM9 -> .gpu-data/
#   bash bench/gpu_generated_domains.sh run       # on the GPU machine, in the repository root (.whl and .gpu-data carried)
#   SMOKE=1 bash bench/gpu_generated_domains.sh run   # tiny presets and 3 x 20 samples on the CPU, to check the script
#
# Knobs (environment): MING_MIN (minutes of MING training, default 4), MING_STEPS (its step limit: the cosine curve
# decays over it, so pick it to end inside MING_MIN; default 4000: the pointwise network took 46-53 ms a step at batch
# 256 on an H100, and mixing costs 1.3x a step on the CPU; the log shows where the run stopped and why), BATCH
# (default 256), N (molecules per repetition, default 10000), RES (results folder, default runs/gpu-domains). If $OUT
# is set (the device tool's return folder), the log, the four reports, MING's training log, the two checkpoints
# (ckpts.tar) and the samples with their reports (samples.tar.gz) are copied there: eight files, each under 16 MiB.
#
# With the device tool: run(command="bash bench/gpu_generated_domains.sh run", carry=[".whl", ".gpu-data"], timeout_s=600)
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?"say prepare or run"}
wheels=.whl

if [ "$stage" = prepare ]; then
  # The GPU image has torch, numpy, scipy, pandas, scikit-learn, networkx, matplotlib, tqdm and torchdiffeq (Python 3.12)
  # but not these; eden-kernel is an sdist, made into a pure-Python wheel here.
  rm -rf "$wheels" .gpu-data && mkdir -p "$wheels" .gpu-data/qm9
  pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$wheels" \
      rdkit fastcore fcd-torch==1.0.7 dill future toolz
  pip wheel -q --no-deps -w "$wheels" eden-kernel
  cp "${MING_DATA_DIR:-../shared/data}"/qm9/* .gpu-data/qm9/
  # The test and training sets' reference statistics (FCD, NSPDK, properties, skeletons; content-keyed, 4 MB): scoring
  # on the GPU machine then starts at once. They exist here once any QM9 samples were scored (ming evaluate).
  metrics="${MING_CACHE_DIR:-$HOME/.cache/ming}/metrics"
  if [ -d "$metrics" ]; then cp -r "$metrics" .gpu-data/metrics; else echo "no $metrics: the GPU run will compute them (minutes)"; fi
  du -sh "$wheels" .gpu-data; exit 0
fi
[ "$stage" = run ] || { echo "unknown stage $stage: say prepare or run"; exit 2; }

out=${RES:-runs/gpu-domains}; mkdir -p "$out"; log="$out/log.txt"
say() { echo "[$(date +%T)] $*" | tee -a "$log"; }
if [ -z "${SMOKE:-}" ]; then
  [ -d "$wheels" ] && [ -d .gpu-data ] || { echo "no $wheels/ or .gpu-data/: run 'prepare' first and carry both"; exit 2; }
  t=$SECONDS; pip install -q --no-deps --target /tmp/ming-deps "$wheels"/*.whl
  export PYTHONPATH=/tmp/ming-deps:$PWD MING_DATA_DIR=$PWD/.gpu-data MING_CACHE_DIR=/tmp/ming-cache
  mkdir -p "$MING_CACHE_DIR"; [ -d .gpu-data/metrics ] && cp -r .gpu-data/metrics "$MING_CACHE_DIR/"
  say "installed in $((SECONDS - t)) s"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$log"
  skel=(--preset qm9); mingp=(--preset qm9-laptop --max-steps "${MING_STEPS:-4000}" --time-budget "${MING_MIN:-4}" --batch-size "${BATCH:-256}")
  n=${N:-10000}; jobs=$(nproc)
else
  skel=(--preset tiny); mingp=(--preset tiny --max-steps 8); n=20; jobs=2; steps=5
fi
ming() { python3 -m ming.cli "$@"; }
opts=x0_param=probs,sample_steps=${steps:-10}

say "training: skeleton generator and MING side by side"
t=$SECONDS
ming train --model skeleton "${skel[@]}" --out "$out/skeleton" --quiet > "$out/train-skeleton.txt" 2>&1 &
ming train "${mingp[@]}" --options laplacian=binary,mixing=node --out "$out/ming" --quiet > "$out/train-ming.txt" 2>&1
wait
say "trained in $((SECONDS - t)) s: $(tail -n1 "$out/train-ming.txt") | $(tail -n1 "$out/train-skeleton.txt")"

t=$SECONDS   # the headline time: one command for n molecules, start-up and skeleton stage included
ming sample --ckpt "$out/ming/last.ckpt" --n "$n" --seed 7 --batch-size 2500 --options "$opts" \
     --domain generated --skeleton-ckpt "$out/skeleton/last.ckpt" --out "$out/timed.csv" --quiet
say "one command: $n molecules on generated domains in $((SECONDS - t)) s"
t=$SECONDS
ming sample --ckpt "$out/ming/last.ckpt" --n "$n" --reps 3 --batch-size 2500 --options "$opts" \
     --domain generated --skeleton-ckpt "$out/skeleton/last.ckpt" --out "$out/generated.csv" --quiet
say "generated: 3 x $n in $((SECONDS - t)) s"
t=$SECONDS
ming sample --ckpt "$out/ming/last.ckpt" --n "$n" --reps 3 --batch-size 2500 --options "$opts" --out "$out/templates.csv" --quiet
say "templates: 3 x $n in $((SECONDS - t)) s"
t=$SECONDS
for f in generated templates; do for p in gdss strict; do
  ming evaluate "$out/$f.csv" --protocol $p --n-jobs $((jobs / 4 > 1 ? jobs / 4 : 1)) > "$out/eval-$f-$p.txt" 2>&1 &
done; done
wait
say "scored in $((SECONDS - t)) s"
for f in generated templates; do for p in gdss strict; do say "== $f $p"; grep -E "^\|" "$out/eval-$f-$p.txt" | tee -a "$log" || true; done; done
if [ -n "${OUT:-}" ]; then
  cp "$log" "$out"/eval-*.txt "$out/train-ming.txt" "$OUT/"
  tar -cf "$OUT/ckpts.tar" -C "$out" ming/last.ckpt skeleton/last.ckpt
  tar -czf "$OUT/samples.tar.gz" -C "$out" --exclude='*.ckpt' .
  ls -la "$OUT"
fi
