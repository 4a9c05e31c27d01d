#!/bin/sh
# tools/train/run.sh — the whole recipe for models/default.gguf, from a fresh Debian machine:
#   1. install the maintainer tools it needs from Debian's archive (not edgellm dependencies)
#   2. gen_data.py  training + held-out conversations, deterministic from SEED
#   3. bpe.py       byte-level BPE vocabulary (Qwen2 pre-tokenizer) trained on the data
#   4. train.py     the Qwen3 model (torch, 2 threads), one run: STEPS steps or MINUTES of wall
#                   time, whichever ends first (the learning-rate schedule follows whichever is
#                   further along, so a slow or paused run still ends fully decayed), batches
#                   of BATCH tokens, conversations of at most MAXLEN tokens; then exported to
#                   GGUF (F16)
#   5. plot.py      the loss curve;  eval.py  the 100 held-out prompts
# Work files go to $OUT (default build/train, never committed); the results are copied to
# $MODELS (default models/: default.gguf, default-loss.svg, eval/train records). From the repo
# root:
#   nice -n 19 sh tools/train/run.sh           # full run (as made: see models/README.md)
#   STEPS=40 MINUTES=0 N=2000 OUT=/tmp/smoke MODELS=/tmp/smoke sh tools/train/run.sh
#                                              # smoke run (minutes; leaves models/ alone)
# train_log.json records what happened (wall, paused and CPU time, tokens/s).
set -eu
SEED=${SEED:-1234}
N=${N:-60000}
WORDS=${WORDS:-200}
VOCAB=${VOCAB:-4096}
STEPS=${STEPS:-100000}
MINUTES=${MINUTES:-114}
BATCH=${BATCH:-2048}
LR=${LR:-3e-3}
MAXLEN=${MAXLEN:-512}
OUT=${OUT:-build/train}
MODELS=${MODELS:-models} # where the results go (a smoke run should point this elsewhere)
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
# OMP_NUM_THREADS=2: Debian's torch does its matrix products in OpenBLAS (OpenMP), which
# torch.set_num_threads does not reach here — without it they ran on one core (half speed).
# Passive OpenMP waiting: on a shared machine spinning threads only burn our own CPU share.
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} $PY "$HERE/train.py" --data "$OUT/data" \
    --seed "$SEED" --steps "$STEPS" --minutes "$MINUTES" --batch-tokens "$BATCH" --lr "$LR" \
    --max-len "$MAXLEN" --threads 2 | tee "$OUT/train.log"
end=$(date +%s)
echo "recipe wall time: $((end - start)) s" | tee -a "$OUT/train.log"

mkdir -p "$MODELS"
cp "$OUT/data/default.gguf" "$MODELS/default.gguf"
$PY "$HERE/plot.py" "$OUT/data/loss.csv" "$MODELS/default-loss.svg"
$PY "$HERE/eval.py" --data "$OUT/data" --model "$MODELS/default.gguf" \
    --out "$OUT/eval-results.json" | tee "$OUT/eval.log"
cp "$OUT/eval-results.json" "$MODELS/default-eval.json"
$PY - "$OUT" "$MODELS/default-train.json" "$((end - start))" <<'PYEOF'
import json, sys
out, dst, wall = sys.argv[1], sys.argv[2], int(sys.argv[3])
rec = {"data": json.load(open("%s/data/stats.json" % out)),
       "train": json.load(open("%s/data/train_log.json" % out)),
       "recipe_wall_seconds": wall}
json.dump(rec, open(dst, "w"), indent=1)
PYEOF
