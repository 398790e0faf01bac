package dev.glimpse.ocr;

/**
 * One recognised text region.
 *
 * @param text       decoded text
 * @param confidence mean per-character probability, in [0, 1]
 * @param box        the region in source-image pixels (top-left, top-right, bottom-right, bottom-left)
 */
public record OcrLine(String text, float confidence, Quad box) {}
