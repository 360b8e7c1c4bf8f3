#!/usr/bin/env bash
# The generated-domain goals on one GPU, in one call of at most 10 minutes: train the skeleton generator and MING (by
# default the configuration of the README's goal figures: aromatic class, binary Laplacian, gated mixing) side by side,
# time one command that samples 10,000 QM9 molecules on generated domains (start-up and skeleton stage included),
# then sample 3 x 10,000 on generated and on template domains and score them under the gdss and strict protocols.
# Every stage's wall time goes to the log.
#
#   bash bench/gpu_generated_domains.sh prepare   # on a machine that reaches PyPI: wheels -> .whl/, QM9 -> .gpu-data/
#   bash bench/gpu_generated_domains.sh run       # on the GPU machine, in the repository root (.whl and .gpu-data carried)
#   SMOKE=1 bash bench/gpu_generated_domains.sh run   # tiny presets and 3 x 20 samples on the CPU, to check the script
#
# Knobs (environment): MING_DATASET and MING_OPTS (MING's dataset and options; default qm9-aromatic and
# laplacian=binary,mixing=gated; MING_DATASET=qm9 MING_OPTS=laplacian=binary,mixing=node for the labeller that the 16 s on
# an H200 used), MING_MIN (minutes of MING training, default 4), MING_STEPS (its step limit: the cosine curve
# decays over it, so pick it to end inside MING_MIN; default 4000: the pointwise network took 46-53 ms a step at batch
# 256 on an H100; measured with mixing on an H200: 52.8 ms at batch 1,024, so a larger batch costs nothing; the log
# shows where the run stopped and why), BATCH
# (default 256), LR (default: the preset's), N (molecules per repetition, default 10000), RES (results folder, default runs/gpu-domains),
# SKEL_CKPT (a trained skeleton generator: use it, train none), TIME_CKPT (a trained MING checkpoint: time the one
# 10,000-molecule command with it and SKEL_CKPT first, on the idle GPU, before any training), TEMPLATES=0 (skip the
# template-domain samples), EVAL=0 (skip scoring: score the returned samples elsewhere with `ming evaluate`),
# SKEL_OPTS (the skeleton generator's sampling options, default layout=packed: its layers on the real pairs i<j only,
# about twice as fast on the CPU, the same skeletons; SKEL_OPTS=layout=dense for the grid that the 16 s on an H200 used). If $OUT
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
say() { echo "[$(date +%T)] $*" | tee -a "$log"; [ -z "${OUT:-}" ] || cp "$log" "$OUT/"; }   # $OUT: what a cut-off call returns
if [ -z "${SMOKE:-}" ]; then
  [ -d "$wheels" ] && [ -d .gpu-data ] || { echo "no $wheels/ or .gpu-data/: run 'prepare' first and carry both"; exit 2; }
  t=$SECONDS; python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/ming-deps "$wheels"/*.whl
  export PYTHONPATH=/tmp/ming-deps:$PWD MING_DATA_DIR=$PWD/.gpu-data MING_CACHE_DIR=/tmp/ming-cache
  mkdir -p "$MING_CACHE_DIR"; [ -d .gpu-data/metrics ] && cp -r .gpu-data/metrics "$MING_CACHE_DIR/"
  say "installed in $((SECONDS - t)) s"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$log"
  skel=(--preset qm9); mingp=(--preset qm9-laptop --max-steps "${MING_STEPS:-4000}" --time-budget "${MING_MIN:-4}" --batch-size "${BATCH:-256}" ${LR:+--lr "$LR"})
  n=${N:-10000}; jobs=$(nproc)
else
  skel=(--preset tiny); mingp=(--preset tiny --max-steps 8); n=20; jobs=2; steps=5
fi
ming() { python3 -m ming.cli "$@"; }
opts=x0_param=probs,sample_steps=${steps:-10}
skopts=(--skeleton-options "${SKEL_OPTS:-layout=packed}")

timed() {  # the headline time: one command for n molecules, start-up and skeleton stage included
  local t=$SECONDS
  ming sample --ckpt "$1" --n "$n" --seed 7 --batch-size 2500 --options "$opts" \
       --domain generated --skeleton-ckpt "$2" "${skopts[@]}" --out "$3" --quiet
  say "one command: $n molecules on generated domains in $((SECONDS - t)) s (MING $1, skeletons $2, ${skopts[1]})"
}
[ -n "${TIME_CKPT:-}" ] && timed "$TIME_CKPT" "${SKEL_CKPT:?TIME_CKPT needs SKEL_CKPT}" "$out/timed-given.csv"

t=$SECONDS
if [ -n "${SKEL_CKPT:-}" ]; then
  say "training MING (skeleton generator given: $SKEL_CKPT)"; skeleton=$SKEL_CKPT
else
  say "training: skeleton generator and MING side by side"; skeleton=$out/skeleton/last.ckpt
  ming train --model skeleton "${skel[@]}" --out "$out/skeleton" --quiet > "$out/train-skeleton.txt" 2>&1 &
fi
ming train "${mingp[@]}" --dataset "${MING_DATASET:-qm9-aromatic}" --options "${MING_OPTS:-laplacian=binary,mixing=gated}" --out "$out/ming" --quiet > "$out/train-ming.txt" 2>&1
wait
say "trained in $((SECONDS - t)) s: $(tail -n1 "$out/train-ming.txt") | $(tail -n1 "$out/train-skeleton.txt" 2>/dev/null)"
[ -z "${OUT:-}" ] || tar -cf "$OUT/ckpts.tar" -C "$out" ming/last.ckpt ming/train_log.csv ming/summary.json $([ -z "${SKEL_CKPT:-}" ] && echo skeleton/last.ckpt)
[ -n "${TIME_CKPT:-}" ] || timed "$out/ming/last.ckpt" "$skeleton" "$out/timed.csv"
t=$SECONDS
ming sample --ckpt "$out/ming/last.ckpt" --n "$n" --reps 3 --batch-size 2500 --options "$opts" \
     --domain generated --skeleton-ckpt "$skeleton" "${skopts[@]}" --out "$out/generated.csv" --quiet
say "generated: 3 x $n in $((SECONDS - t)) s"
sets=(generated)
if [ "${TEMPLATES:-1}" != 0 ]; then
  t=$SECONDS; sets+=(templates)
  ming sample --ckpt "$out/ming/last.ckpt" --n "$n" --reps 3 --batch-size 2500 --options "$opts" --out "$out/templates.csv" --quiet
  say "templates: 3 x $n in $((SECONDS - t)) s"
fi
[ "${EVAL:-1}" = 0 ] && sets=()
t=$SECONDS
for f in "${sets[@]}"; do for p in gdss strict; do
  ming evaluate "$out/$f.csv" --protocol $p --n-jobs $((jobs / 4 > 1 ? jobs / 4 : 1)) > "$out/eval-$f-$p.txt" 2>&1 &
done; done
wait
[ ${#sets[@]} = 0 ] || say "scored in $((SECONDS - t)) s"
for f in "${sets[@]}"; do for p in gdss strict; do say "== $f $p"; grep -E "^\|" "$out/eval-$f-$p.txt" | tee -a "$log" || true; done; done
if [ -n "${OUT:-}" ]; then
  cp "$log" "$out/train-ming.txt" "$OUT/"; cp "$out"/eval-*.txt "$OUT/" 2>/dev/null || true
  tar -czf "$OUT/samples.tar.gz" -C "$out" --exclude='*.ckpt' .
  ls -la "$OUT"
fi
