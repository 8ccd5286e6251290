#!/usr/bin/env bash
# Reproduce every shipped model in models/ from the embedded data (MNIST digits, emoji), then score each with the
# project's evaluation and store the figures in its manifest.
#
#     scripts/train_shipped.sh                      # all seven recipes, two at a time, one CPU thread each
#     scripts/train_shipped.sh dcgan-mnist          # just one (names: training/presets.py)
#     scripts/train_shipped.sh dcgan-emoji cgan-emoji pix2pix-noto2twemoji     # the colour models
#
# Each recipe is `python -m training train --preset <name>`: fixed seed, one thread, a pinned step count (the
# one the shipped run reached), exports to models/<name>/1. The digit models train in under 30 minutes each on
# the project's 2-core CPU machine; the colour models in 45-55 minutes each, two at a time (wall and CPU times:
# each manifest's provenance).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export OMP_NUM_THREADS=1
mkdir -p runs/logs

presets=("$@")
if [ ${#presets[@]} -eq 0 ]; then
    presets=(dcgan-mnist cgan-mnist pix2pix-lowres cyclegan-thicken dcgan-emoji cgan-emoji pix2pix-noto2twemoji)
fi

train() { nice -n 10 "$PY" -m training train --preset "$1" >"runs/logs/$1.out" 2>"runs/logs/$1.err"; }

# two at a time: the machine has two cores
for ((i = 0; i < ${#presets[@]}; i += 2)); do
    pids=()
    for p in "${presets[@]:i:2}"; do
        train "$p" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
done

for p in "${presets[@]}"; do
    case "$p" in
        cyclegan-*) dirs=("models/$p-a2b/1" "models/$p-b2a/1") ;;
        *) dirs=("models/$p/1") ;;
    esac
    for d in "${dirs[@]}"; do "$PY" -m training evaluate "$d" --write; done
done
