package dev.glimpse.ocr;

import dev.glimpse.runtime.OrtRuntime;

import java.util.List;

/**
 * The real PP-OCRv4 files for tests, from the directory the build installs them into (the pom runs
 * scripts/fetch-ocr-models.sh in generate-test-resources). One pipeline per test JVM.
 */
final class OcrModels {

    private OcrModels() {
    }

    private static PpOcrPipeline pipeline;

    static OcrModelFiles files() {
        OcrModelFiles files = new OcrModelFiles(OcrModelFiles.defaultDir());
        List<String> problems = files.problems();
        if (!problems.isEmpty()) {
            throw new IllegalStateException("PP-OCRv4 models not installed in " + files.dir() + " (" + String.join("; ", problems)
                    + "); run " + OcrModelFiles.installCommand(files.dir()));
        }
        return files;
    }

    static synchronized PpOcrPipeline pipeline() {
        if (pipeline == null) {
            pipeline = PpOcrPipeline.open(files(), new OrtRuntime("cpu", 0), PpOcrPipeline.Options.DEFAULT);
        }
        return pipeline;
    }
}
