#!/bin/sh
# tools/train/run.sh — the whole recipe for models/default.gguf, from a fresh Debian machine:
#   1. install the maintainer tools it needs from Debian's archive (not edgellm dependencies)
#   2. gen_data.py  training + held-out conversations, deterministic from SEED
#   3. bpe.py       byte-level BPE vocabulary (Qwen2 pre-tokenizer) trained on the data
#   4. train.py     the Qwen3 model (torch, 2 threads) in two phases:
#        phase 1  STEPS / MINUTES on the SEED data, lr 3e-3
#        phase 2  from phase 1's weights, STEPS2 / MINUTES2 on fresh data (SEED2, same held-out
#                 split, same vocabulary) with more arithmetic (ARITH2) and made-up city names
#                 and unknown words (SYNTH2, so the model learns to copy arguments), lr LR2
#      then exported to GGUF (F16)
#   5. plot.py      the loss curve;  eval.py  the 100 held-out prompts
# Work files go to $OUT (default build/train, never committed); the results are copied to
# models/ (default.gguf, default-loss.svg, eval/train records). Run from the repo root:
#   sh tools/train/run.sh                      # full run (as made: see models/README.md)
#   STEPS=40 MINUTES=0 STEPS2=20 MINUTES2=0 N=2000 N2=2000 OUT=/tmp/smoke MODELS=/tmp/smoke \
#       sh tools/train/run.sh                  # smoke run (minutes; leaves models/ alone)
# The schedule ends at STEPS or MINUTES of training, whichever comes first (the machine may be
# shared); train_log.json records what happened. Use `nice -n 19 sh tools/train/run.sh` on a
# shared machine.
set -eu
SEED=${SEED:-1234}
N=${N:-10000}
WORDS=${WORDS:-200}
VOCAB=${VOCAB:-4096}
STEPS=${STEPS:-1100}
MINUTES=${MINUTES:-108}
SEED2=${SEED2:-$((SEED + 1))}
N2=${N2:-10000}
ARITH2=${ARITH2:-0.5}
SYNTH2=${SYNTH2:-0.5}
STEPS2=${STEPS2:-1500}
MINUTES2=${MINUTES2:-37}
LR2=${LR2:-2e-3}
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
# Passive OpenMP waiting: on a shared machine spinning threads only burn our own CPU share.
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} $PY "$HERE/train.py" --data "$OUT/data" --seed "$SEED" --steps "$STEPS" --minutes "$MINUTES" \
    --threads 2 | tee "$OUT/train.log"

mkdir -p "$OUT/data2"
$PY "$HERE/gen_data.py" --seed "$SEED2" --split-seed "$SEED" --arith "$ARITH2" \
    --synthetic "$SYNTH2" --n "$N2" \
    --words "$WORDS" --out "$OUT/data2"
cp "$OUT/data/tokenizer.json" "$OUT/data2/tokenizer.json"
cp "$OUT/data/eval.json" "$OUT/data2/eval.json" # phase 1's held-out prompts
OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} $PY "$HERE/train.py" --data "$OUT/data2" \
    --init "$OUT/data/model.pt" --seed "$SEED2" --steps "$STEPS2" --minutes "$MINUTES2" \
    --lr "$LR2" --threads 2 | tee "$OUT/train2.log"
end=$(date +%s)
echo "recipe wall time: $((end - start)) s" | tee -a "$OUT/train2.log"

mkdir -p "$MODELS"
cp "$OUT/data2/default.gguf" "$MODELS/default.gguf"
$PY "$HERE/plot.py" "$OUT/data/loss.csv" "$OUT/data2/loss.csv" "$MODELS/default-loss.svg"
$PY "$HERE/eval.py" --data "$OUT/data2" --model "$MODELS/default.gguf" \
    --out "$OUT/eval-results.json" | tee "$OUT/eval.log"
cp "$OUT/eval-results.json" "$MODELS/default-eval.json"
$PY - "$OUT" "$MODELS/default-train.json" <<'PYEOF'
import json, sys
out, dst = sys.argv[1], sys.argv[2]
rec = {}
for name, d in (("phase1", "data"), ("phase2", "data2")):
    rec[name] = {"data": json.load(open("%s/%s/stats.json" % (out, d))),
                 "train": json.load(open("%s/%s/train_log.json" % (out, d)))}
json.dump(rec, open(dst, "w"), indent=1)
PYEOF
