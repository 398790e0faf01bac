package dev.glimpse;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Server configuration ({@code glimpse.*} in application.properties, environment or command line).
 *
 * @param modelDir directory holding model-cards/&lt;name&gt;/
 * @param model    the card to serve
 * @param dataDir  writable state: the converted-graph cache, the job database (unless spring.datasource.url names
 *                 another), uploaded files
 */
@ConfigurationProperties("glimpse")
public record GlimpseProperties(
        @DefaultValue("model-cards") Path modelDir,
        @DefaultValue("tiny-kimi-vl") String model,
        @DefaultValue("data") Path dataDir,
        @DefaultValue Runtime runtime,
        @DefaultValue Limits limits,
        @DefaultValue EngineProps engine,
        @DefaultValue RemoteImages remoteImages,
        @DefaultValue Jobs jobs) {

    /**
     * @param device         cpu | cuda | auto
     * @param intraOpThreads 0 lets ONNX Runtime choose
     * @param allowSpinning  let ONNX Runtime's pool threads busy-wait (lower latency on an otherwise idle machine)
     */
    public record Runtime(@DefaultValue("cpu") String device, @DefaultValue("0") int intraOpThreads,
                          @DefaultValue("false") boolean allowSpinning) {}

    /**
     * @param queueCapacity requests waiting for the engine before new ones get 429
     * @param maxImageBytes encoded bytes per image
     * @param maxImagePixels decoded pixels per image, checked from the header before decoding
     * @param maxImageSide   pixels per side
     */
    public record Limits(@DefaultValue("64") int queueCapacity, @DefaultValue("20971520") long maxImageBytes,
                         @DefaultValue("40000000") long maxImagePixels, @DefaultValue("16384") int maxImageSide) {}

    /**
     * Continuous-batching engine.
     *
     * @param maxNumSeqs       sequences decoded together
     * @param maxBatchedTokens tokens per scheduler step (decode tokens + prefill chunk)
     * @param kvCacheBytes     KV-cache budget; admission waits until a request's prompt + max_tokens fit
     * @param visionCacheBytes projected image features kept for reuse (LRU)
     * @param requestTimeout   deadline per request from arrival
     */
    public record EngineProps(@DefaultValue("16") int maxNumSeqs, @DefaultValue("2048") int maxBatchedTokens,
                              @DefaultValue("536870912") long kvCacheBytes, @DefaultValue("268435456") long visionCacheBytes,
                              @DefaultValue("5m") Duration requestTimeout) {}

    /** Remote http(s) image URLs: off unless enabled; then fetched with caps, never from loopback or private addresses. */
    public record RemoteImages(@DefaultValue("false") boolean enabled, @DefaultValue("10485760") long maxBytes,
                               @DefaultValue("10s") Duration timeout) {}

    /**
     * Batches and caption jobs.
     *
     * @param maxInFlight      items of the running job kept inside the engine at once (keep it below queueCapacity so
     *                         interactive requests still get in)
     * @param captionRoots     server folders a caption job may read (and everything below them); empty: folder sources off
     * @param captionPrompt    prompt of a caption job that names none
     * @param captionMaxTokens max_tokens of a caption job that names none
     * @param maxZipBytes      uncompressed bytes of an uploaded zip source
     * @param maxZipEntries    files in an uploaded zip source
     * @param maxBatchLines    requests in one batch input file (OpenAI's limit)
     * @param instanceId       this server's name when several share one job database (blank: host name + data dir)
     */
    public record Jobs(@DefaultValue("32") int maxInFlight, @DefaultValue List<Path> captionRoots,
                       @DefaultValue("Describe the image.") String captionPrompt,
                       @DefaultValue("64") int captionMaxTokens, @DefaultValue("2147483648") long maxZipBytes,
                       @DefaultValue("100000") int maxZipEntries, @DefaultValue("50000") int maxBatchLines,
                       @DefaultValue("") String instanceId) {}
}
