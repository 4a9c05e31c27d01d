#!/bin/sh
# tools/train/run.sh — the whole recipe for models/default.gguf, from a fresh Debian machine:
#   1. install the maintainer tools it needs from Debian's archive (not edgellm dependencies)
#   2. gen_data.py  training + held-out conversations, deterministic from SEED
#   3. bpe.py       byte-level BPE vocabulary (Qwen2 pre-tokenizer) trained on the data
#   4. train.py     the Qwen3 model (torch, 2 threads), exported to GGUF (F16)
#   5. plot.py      the loss curve;  eval.py  the 100 held-out prompts
# Work files go to $OUT (default build/train, never committed); the results are copied to
# models/ (default.gguf, default-loss.svg, eval/train records). Run from the repo root:
#   sh tools/train/run.sh                      # full run (STEPS=600, MINUTES=92)
#   STEPS=40 MINUTES=0 N=2000 sh tools/train/run.sh   # smoke run (minutes)
# The schedule ends at STEPS or MINUTES of training, whichever comes first (the machine may be
# shared); train_log.json records what happened. Use `nice -n 19 sh tools/train/run.sh` on a
# shared machine.
set -eu
SEED=${SEED:-1234}
N=${N:-10000}
WORDS=${WORDS:-200}
VOCAB=${VOCAB:-4096}
STEPS=${STEPS:-600}
MINUTES=${MINUTES:-92}
OUT=${OUT:-build/train}
PY=/usr/bin/python3
HERE=$(dirname "$0")

need=""
for p in python3-torch python3-numpy python3-jinja2 python3-regex python3-matplotlib \
    wordnet-base libopenblas0-openmp; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
    # libopenblas0-openmp: Debian's torch calls the system BLAS; the reference BLAS is ~10x
    # slower than OpenBLAS for the matrix products training spends its time in.
    apt-get update && apt-get install -y --no-install-recommends $need
fi

mkdir -p "$OUT/data"
start=$(date +%s)
$PY "$HERE/gen_data.py" --seed "$SEED" --n "$N" --words "$WORDS" --out "$OUT/data"
$PY "$HERE/bpe.py" train --data "$OUT/data" --vocab "$VOCAB"
# Passive OpenMP waiting: on a shared machine spinning threads only burn our own CPU share.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} $PY "$HERE/train.py" --data "$OUT/data" --seed "$SEED" --steps "$STEPS" --minutes "$MINUTES" \
    --threads 2 | tee "$OUT/train.log"
end=$(date +%s)
echo "recipe wall time: $((end - start)) s" | tee -a "$OUT/train.log"

mkdir -p models
cp "$OUT/data/default.gguf" models/default.gguf
$PY "$HERE/plot.py" "$OUT/data/loss.csv" models/default-loss.svg
$PY "$HERE/eval.py" --data "$OUT/data" --model models/default.gguf \
    --out "$OUT/eval-results.json" | tee "$OUT/eval.log"
