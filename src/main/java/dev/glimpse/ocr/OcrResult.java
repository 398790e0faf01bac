package dev.glimpse.ocr;

import java.util.List;
import java.util.Map;

/**
 * What the pipeline read from one image.
 *
 * @param lines    regions in reading order
 * @param text     the regions' text: regions of one visual line joined by a space, lines by a newline
 * @param timings  milliseconds per stage (det, crop, cls, rec, total)
 */
public record OcrResult(List<OcrLine> lines, String text, Map<String, Double> timings) {}
