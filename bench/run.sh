#!/usr/bin/env bash
# Glimpse benchmarks against their references, on the same checkpoint and images. Builds nothing: build the jar first
# (mvn -q -B package -DskipTests). A few minutes in all; every step has a time bound.
#
#   bench/run.sh [extra options for `glimpse bench`, e.g. --model NAME --runs 7]
#
# Environment: JAR (target/glimpse.jar), PY (/usr/bin/python3), OUT (data/bench), RUNS (5).
# Order keeps each pair close in time: Java preprocessing + decode, then the Pillow and PyTorch references, then the
# HTTP and context-length measurements. Results: $OUT/{java-pairs,java-server}.{json,txt}, $OUT/{pytorch,pillow}.json.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=${JAR:-target/glimpse.jar}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-data/bench}
RUNS=${RUNS:-5}
if [ ! -f "$JAR" ]; then
  echo "run.sh: $JAR not found; build it first: mvn -q -B package -DskipTests" >&2
  exit 1
fi
export ORT_DISABLE_TELEMETRY=1 DJL_OFFLINE=true
mkdir -p "$OUT"
start=$(date +%s)

echo "== 1/4 glimpse bench: preprocessing, decode (in-process)" >&2
timeout 300 java -jar "$JAR" bench --runs "$RUNS" --out-dir "$OUT" --only preprocess,decode \
  --json "$OUT/java-pairs.json" "$@" > "$OUT/java-pairs.txt"

echo "== 2/4 references: Pillow + numpy preprocessing, PyTorch eager decode" >&2
timeout 300 "$PY" bench/pillow_preprocess.py --inputs "$OUT/inputs.json" > "$OUT/pillow.json"
timeout 300 "$PY" bench/pytorch_decode.py --inputs "$OUT/inputs.json" > "$OUT/pytorch.json"

echo "== 3/4 glimpse bench: TTFT, HTTP throughput + memory (server in a child JVM), decode cost vs context and batch" >&2
timeout 400 java -jar "$JAR" bench --runs "$RUNS" --out-dir "$OUT" --only ttft,throughput,context,batch \
  --json "$OUT/java-server.json" "$@" > "$OUT/java-server.txt"

echo "== 4/4 summary ($(( $(date +%s) - start )) s)" >&2
cat "$OUT/java-pairs.txt" "$OUT/java-server.txt"
echo
"$PY" bench/compare.py "$OUT/java-pairs.json" "$OUT/java-server.json" "$OUT/pytorch.json" "$OUT/pillow.json"
