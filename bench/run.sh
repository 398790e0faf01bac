#!/usr/bin/env bash
# Glimpse benchmarks against their references, on the same checkpoint and images. Builds nothing: build the jar first
# (mvn -q -B package -DskipTests). About 4 minutes on 2 cores; every step has a time bound.
#
#   bench/run.sh [extra options for `glimpse bench`, e.g. --model NAME --model-dir DIR]
#
# Environment: JAR (target/glimpse.jar), PY (/usr/bin/python3), OUT (data/bench), RUNS (5 runs per figure),
# ROUNDS (3). The paired figures (decode vs PyTorch, preprocessing vs Pillow) are measured in ROUNDS alternating rounds,
# Java then the references, so drift in background load hits both sides alike; the summary takes the median over
# rounds of each side's median and also shows the per-round ratios. Then one server round: TTFT, HTTP throughput,
# memory, decode cost vs context and batch.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=${JAR:-target/glimpse.jar}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-data/bench}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-3}
if [ ! -f "$JAR" ]; then
  echo "run.sh: $JAR not found; build it first: mvn -q -B package -DskipTests" >&2
  exit 1
fi
export ORT_DISABLE_TELEMETRY=1 DJL_OFFLINE=true
mkdir -p "$OUT"
rm -f "$OUT"/java-pairs-*.json "$OUT"/pytorch-*.json "$OUT"/pillow-*.json
start=$(date +%s)

for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r/$ROUNDS: glimpse bench preprocessing + decode, then Pillow and PyTorch ($(( $(date +%s) - start )) s)" >&2
  timeout 300 java -jar "$JAR" bench --runs "$RUNS" --out-dir "$OUT" --only preprocess,decode \
    --json "$OUT/java-pairs-$r.json" "$@" > "$OUT/java-pairs-$r.txt"
  timeout 300 "$PY" bench/pillow_preprocess.py --inputs "$OUT/inputs.json" > "$OUT/pillow-$r.json"
  timeout 300 "$PY" bench/pytorch_decode.py --inputs "$OUT/inputs.json" > "$OUT/pytorch-$r.json"
done

echo "== server: TTFT, HTTP throughput + memory (child JVM), decode cost vs context and batch ($(( $(date +%s) - start )) s)" >&2
timeout 400 java -jar "$JAR" bench --runs "$RUNS" --out-dir "$OUT" --only ttft,throughput,context,batch \
  --json "$OUT/java-server.json" "$@" > "$OUT/java-server.txt"

echo "== summary ($(( $(date +%s) - start )) s)" >&2
cat "$OUT/java-pairs-$ROUNDS.txt" "$OUT/java-server.txt"
echo
"$PY" bench/compare.py "$OUT"/java-pairs-*.json "$OUT/java-server.json" "$OUT"/pytorch-*.json "$OUT"/pillow-*.json
