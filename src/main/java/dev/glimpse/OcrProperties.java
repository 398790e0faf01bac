package dev.glimpse;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.nio.file.Path;

/**
 * OCR settings ({@code glimpse.ocr.*}). The PP-OCRv4 models are optional: without them the server starts and
 * {@code POST /v1/ocr} with engine ppocr answers 503 with the command that installs them.
 *
 * @param modelDir            directory holding the PP-OCRv4 files; unset: {@code $GLIMPSE_OCR_MODELS}, else
 *                            {@code ~/.cache/glimpse/ocr/ppocr-v4} (where scripts/fetch-ocr-models.sh installs them)
 * @param detLimitSideLen     detection resize limit in pixels
 * @param detLimitType        {@code max}: longest side at most the limit; {@code min}: shortest side at least the limit
 * @param detThresh           DB pixel threshold
 * @param detBoxThresh        DB box score threshold
 * @param detUnclipRatio      DB unclip ratio
 * @param angleClassification run the 180-degree direction classifier unless the request says otherwise
 * @param minConfidence       default for the request's min_confidence
 * @param allowSpinning       let ONNX Runtime's threads spin-wait (only worth it on a machine with idle cores)
 * @param vlmMaxTokens        default max_tokens for engine=vlm
 * @param maxConcurrent       ppocr requests run at once (0: one per core); the next waits up to 10 s, then gets 429, since
 *                            each holds several copies of its image (a 40 MP upload is ~0.5 GB of heap and native memory)
 */
@ConfigurationProperties("glimpse.ocr")
public record OcrProperties(Path modelDir, @DefaultValue("960") int detLimitSideLen, @DefaultValue("max") String detLimitType,
                            @DefaultValue("0.3") double detThresh, @DefaultValue("0.5") double detBoxThresh,
                            @DefaultValue("2.0") double detUnclipRatio, @DefaultValue("false") boolean angleClassification,
                            @DefaultValue("0.5") double minConfidence, @DefaultValue("false") boolean allowSpinning,
                            @DefaultValue("512") int vlmMaxTokens, @DefaultValue("0") int maxConcurrent) {

    public int concurrency() {
        return maxConcurrent > 0 ? maxConcurrent : Runtime.getRuntime().availableProcessors();
    }
}
