#!/usr/bin/env bash
# OCR benchmark: generates the text-image set if missing, builds Glimpse, runs bench/ocr/OcrBench.java (Glimpse's PP-OCRv4
# pipeline in-process and the tesseract CLI on the same images, one run). Extra arguments go to OcrBench.
#
#   bench/ocr/run.sh                                  # 200 generated images, seed 11, into target/ocr-bench/set
#   SET=/path/to/images bench/ocr/run.sh              # any directory of images with NAME.gt.txt beside each
#
# Needs: Debian tesseract-ocr tesseract-ocr-eng python3-pil python3-numpy fonts-dejavu-core fonts-liberation
# fonts-freefont-ttf, and the OCR models (scripts/fetch-ocr-models.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
SET="${SET:-target/ocr-bench/set}"
if [[ ! -d "$SET" ]]; then
  /usr/bin/python3 bench/ocr/generate.py --out "$SET" --n "${N:-200}" --seed "${SEED:-11}"
fi
scripts/fetch-ocr-models.sh
mvn -q -B -ntp compile
mvn -q -B -ntp dependency:build-classpath -Dmdep.outputFile=target/ocr-bench-cp.txt >/dev/null
export ORT_DISABLE_TELEMETRY=1
java -cp "target/classes:$(cat target/ocr-bench-cp.txt)" bench/ocr/OcrBench.java --set "$SET" --out target/ocr-bench-results.tsv "$@"
