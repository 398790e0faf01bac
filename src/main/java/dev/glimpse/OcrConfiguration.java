package dev.glimpse;

import dev.glimpse.ocr.DbPostProcess;
import dev.glimpse.ocr.OcrModelFiles;
import dev.glimpse.ocr.OcrService;
import dev.glimpse.ocr.PpOcrPipeline;
import dev.glimpse.runtime.OrtRuntime;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The OCR pipeline: optional, so a server without the PP-OCRv4 files starts and serves everything else. */
@Configuration(proxyBeanMethods = false)
public class OcrConfiguration {

    @Bean(destroyMethod = "close")
    OcrService ocrService(OcrProperties p, OrtRuntime runtime) {
        PpOcrPipeline.Options d = PpOcrPipeline.Options.DEFAULT;
        PpOcrPipeline.Options options = d
                .withDetection(p.detLimitSideLen(), p.detLimitType(),
                        new DbPostProcess.Params(p.detThresh(), p.detBoxThresh(), p.detUnclipRatio(), d.db().maxCandidates()),
                        d.mergeGap(), d.cropMargin())
                .withAngleClassification(p.angleClassification(), d.clsThresh())
                .withAllowSpinning(p.allowSpinning());
        return OcrService.open(p.modelDir() != null ? p.modelDir() : OcrModelFiles.defaultDir(), runtime, options);
    }
}
