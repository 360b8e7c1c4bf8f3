#!/usr/bin/env bash
# MING on one GPU, in one call of at most 10 minutes, for the questions the 2-core CPU cannot answer in a session:
#  1. a trained checkpoint (CKPT, if given) sampled 3 x N with K reverse steps (default 99, the reference's) on generated domains
#     (the skeletons of SKEL_CKPT) and on training templates;
#  2. meanwhile, MING variants trained side by side, each then sampled 3 x N on generated domains with VK reverse steps
#     (default 10). Processes do not share the GPU for free: measured on an H200, H = 256 at batch 256 took 37 ms a
#     step alone and 104 ms with two other processes beside it; one variant alone gets the most steps per call.
# What comes back in $OUT (the device tool's return folder), each file as soon as it is written: log.txt,
# given-kK.tar.gz (the given checkpoint's samples and logs), and per variant NAME-raw.ckpt (its trained weights, the
# optimiser's state dropped) and NAME.tar.gz (samples, logs, training log, and ema.ckpt if it kept an average). Score
# the samples where CPU time is free: `ming evaluate FILE --protocol gdss` and `--protocol strict`.
#
#   bash bench/gpu_generated_domains.sh prepare   # once, on a machine that reaches PyPI: wheels -> .whl/, QM9 -> .gpu-data/
#   CKPT=.gpu-ckpt/ming.ckpt SKEL_CKPT=.gpu-ckpt/skeleton.ckpt \
#   VARIANTS='h256=--hidden 256 --batch-size 256 --lr 1e-3;h128=--batch-size 256' MIN=6 STEPS=6000 \
#   bash bench/gpu_ming_variants.sh               # on the GPU machine; carry .whl, .gpu-data and the checkpoints
#   SMOKE=1 ... bash bench/gpu_ming_variants.sh   # tiny presets and 3 x 20 samples on the CPU, to check the script
#
# Knobs: K, N (default 10000), VARIANTS (';'-separated name=extra `ming train` arguments, added to the qm9-laptop
# preset with the binary Laplacian and cross-pair mixing; empty: train nothing), MIN (minutes of training per variant,
# default 6), STEPS (the cosine curve's length, default 6000), EMA (default 0.99; 0.999 over some thousand steps
# ruins MING's average, measured in nbs/42_trainer), VK, VW (the weights the variants sample: ema, the default,
# or raw), RES (default runs/gpu-variants).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${RES:-runs/gpu-variants}; mkdir -p "$out"; log="$out/log.txt"
say() { echo "[$(date +%T)] $*" | tee -a "$log"; [ -z "${OUT:-}" ] || cp "$log" "$OUT/"; }
if [ -z "${SMOKE:-}" ]; then
  [ -d .whl ] && [ -d .gpu-data ] || { echo "no .whl/ or .gpu-data/: run 'bash bench/gpu_generated_domains.sh prepare' and carry both"; exit 2; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/ming-deps .whl/*.whl
  export PYTHONPATH=/tmp/ming-deps:$PWD MING_DATA_DIR=$PWD/.gpu-data MING_CACHE_DIR=/tmp/ming-cache
  mkdir -p "$MING_CACHE_DIR"; [ -d .gpu-data/metrics ] && cp -r .gpu-data/metrics "$MING_CACHE_DIR/"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$log"
  base=(--preset qm9-laptop --max-steps "${STEPS:-6000}" --time-budget "${MIN:-6}" --ema "${EMA:-0.99}")
  n=${N:-10000}; k=${K:-99}; vk=${VK:-10}
else
  base=(--preset tiny --max-steps 8); n=20; k=5; vk=3
fi
ming() { python3 -m ming.cli "$@"; }
: "${SKEL_CKPT:?say which skeleton generator gives the domains}"

# 2. the variants, in the background
names=()
IFS=';' read -ra specs <<< "${VARIANTS:-}"
for spec in "${specs[@]}"; do
  [ -n "$spec" ] || continue
  name=${spec%%=*}; args=${spec#*=}; names+=("$name")
  say "training $name: ${base[*]} $args"
  # shellcheck disable=SC2086
  ( ming train "${base[@]}" $args --options laplacian=binary,mixing=node --out "$out/$name" --quiet \
      > "$out/train-$name.txt" 2>&1
    say "$name: $(tail -n1 "$out/train-$name.txt")"
    # the weights in small checkpoints (the optimiser's state dropped; one set of weights each), so that even the
    # H = 256 network comes back under the device tool's 16 MiB per file: raw.ckpt, and ema.ckpt if it kept an average
    python3 - "$out/$name" <<'PY'
import sys, torch
from ming.checkpoint import load_checkpoint
d = sys.argv[1]; c = load_checkpoint(f'{d}/last.ckpt')
keep = {k: c[k] for k in ('format', 'kind', 'train_cfg', 'model_cfg')}
torch.save({**keep, 'model': c['model'], 'ema': {}}, f'{d}/raw.ckpt')
if c.get('ema'): torch.save({**keep, 'model': {**c['model'], **c['ema']}, 'ema': {}}, f'{d}/ema.ckpt')
PY
    [ -z "${OUT:-}" ] || cp "$out/$name/raw.ckpt" "$OUT/$name-raw.ckpt"
    t=$SECONDS
    ming sample --ckpt "$out/$name/last.ckpt" --weights "${VW:-ema}" --n "$n" --reps 3 --batch-size 2500 \
        --options x0_param=probs,sample_steps=$vk --domain generated --skeleton-ckpt "$SKEL_CKPT" \
        --out "$out/$name-generated-k$vk.csv" > "$out/$name-generated-k$vk.log" 2>&1
    say "$name: 3 x $n generated at K = $vk (weights: ${VW:-ema}) in $((SECONDS - t)) s"
    # one file per variant besides its raw weights: the tool returns a few files per call, not dozens
    [ -z "${OUT:-}" ] || tar -czf "$OUT/$name.tar.gz" -C "$out" "$name-generated-k$vk.csv" "$name-generated-k$vk.log" \
        "train-$name.txt" "$name/train_log.csv" "$name/summary.json" $([ -f "$out/$name/ema.ckpt" ] && echo "$name/ema.ckpt")
  ) &
done

# 1. the given checkpoint (if any) at K steps, in the foreground
for dom in ${CKPT:+generated templates}; do
  t=$SECONDS
  extra=(); [ $dom = generated ] && extra=(--domain generated --skeleton-ckpt "$SKEL_CKPT")
  ming sample --ckpt "$CKPT" --n "$n" --reps 3 --batch-size 2500 --options x0_param=probs,sample_steps=$k \
      "${extra[@]}" --out "$out/given-$dom-k$k.csv" > "$out/given-$dom-k$k.log" 2>&1
  say "given checkpoint: 3 x $n on $dom domains at K = $k in $((SECONDS - t)) s"
  [ -z "${OUT:-}" ] || tar -czf "$OUT/given-k$k.tar.gz" -C "$out" $(cd "$out" && ls given-*-k$k.csv given-*-k$k.log)
done
wait
say "done"
