package dev.glimpse.ocr;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.GlimpseProperties;
import dev.glimpse.OcrProperties;
import dev.glimpse.api.ApiErrorHandler;
import dev.glimpse.api.OcrController;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.runtime.OrtRuntime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/** Model files: SHA-256 checks, and the 503 with the install command when they are missing. */
class OcrServiceTest {

    @Test
    void missingFilesMakeTheServiceUnavailableWithTheInstallCommand(@TempDir Path dir) {
        OcrService s = OcrService.open(dir, new OrtRuntime("cpu", 1), PpOcrPipeline.Options.DEFAULT);
        assertFalse(s.available());
        GlimpseException e = assertThrows(GlimpseException.class, s::pipeline);
        assertEquals(503, e.status());
        assertEquals("ocr_models_missing", e.code());
        assertTrue(e.getMessage().contains("install them with: scripts/fetch-ocr-models.sh " + dir.toAbsolutePath().normalize()), e.getMessage());
        assertTrue(e.getMessage().contains(OcrModelFiles.DET), e.getMessage());
    }

    @Test
    void aFileWithTheWrongHashIsReported(@TempDir Path dir) throws Exception {
        OcrModelFiles real = OcrModels.files();
        for (String f : new String[]{OcrModelFiles.DET, OcrModelFiles.REC, OcrModelFiles.CLS}) {
            Files.copy(real.dir().resolve(f), dir.resolve(f));
        }
        Files.writeString(dir.resolve(OcrModelFiles.DICT), "a\nb\n");
        var problems = new OcrModelFiles(dir).problems();
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith(OcrModelFiles.DICT + " has SHA-256 "), problems.toString());
        assertFalse(OcrService.open(dir, new OrtRuntime("cpu", 1), PpOcrPipeline.Options.DEFAULT).available());
        assertTrue(real.problems().isEmpty(), real.problems().toString());
    }

    @Test
    void theEndpointAnswers503WithTheCommandWhenTheModelsAreMissing(@TempDir Path dir) throws Exception {
        OcrService missing = OcrService.open(dir, new OrtRuntime("cpu", 1), PpOcrPipeline.Options.DEFAULT);
        GlimpseProperties glimpse = new GlimpseProperties(Path.of("model-cards"), "m", Path.of("data"),
                new GlimpseProperties.Runtime("cpu", 0, false), new GlimpseProperties.Limits(64, 20 << 20, 40_000_000, 16384),
                new GlimpseProperties.EngineProps(16, 2048, 1 << 29, 1 << 28, Duration.ofMinutes(5)),
                new GlimpseProperties.RemoteImages(false, 1 << 20, Duration.ofSeconds(10)),
                new GlimpseProperties.Jobs(32, java.util.List.of(), "Describe the image.", 64, 1L << 31, 100_000, 50_000, ""));
        OcrProperties ocr = new OcrProperties(dir, 960, "max", 0.3, 0.5, 2.0, false, 0.5, false, 512, 0);
        MockMvc mvc = MockMvcBuilders.standaloneSetup(new OcrController(missing, null, glimpse, ocr, new ObjectMapper()))
                .setControllerAdvice(new ApiErrorHandler()).build();
        byte[] photo = Files.readAllBytes(Path.of("src/test/resources/ocr/photo.jpg"));
        mvc.perform(multipart("/v1/ocr").file(new MockMultipartFile("file", "photo.jpg", "image/jpeg", photo)))
                .andExpect(status().isServiceUnavailable())
                .andExpect(header().exists("Retry-After"))
                .andExpect(jsonPath("$.error.code").value("ocr_models_missing"))
                .andExpect(jsonPath("$.error.message").value(org.hamcrest.Matchers.containsString(
                        "scripts/fetch-ocr-models.sh " + dir.toAbsolutePath().normalize())));
    }
}
