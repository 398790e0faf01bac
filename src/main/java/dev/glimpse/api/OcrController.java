package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.GlimpseProperties;
import dev.glimpse.OcrProperties;
import dev.glimpse.engine.GenerationResult;
import dev.glimpse.engine.PreparedRequest;
import dev.glimpse.engine.SamplingParams;
import dev.glimpse.engine.ServedModel;
import dev.glimpse.engine.TokenSink;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.ocr.OcrLine;
import dev.glimpse.ocr.OcrResult;
import dev.glimpse.ocr.OcrService;
import dev.glimpse.ocr.PpOcrPipeline;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * {@code POST /v1/ocr}: the text in an image. The image comes as multipart field {@code file} or as JSON
 * {@code {"image": "data:image/png;base64,..."}}; options as form fields, JSON fields or query parameters:
 * {@code engine} (ppocr | vlm, default ppocr), {@code min_confidence} (0..1), {@code detail} (lines | text),
 * {@code angle_cls} (true | false, ppocr's 180-degree direction classifier), {@code max_tokens} (vlm).
 *
 * <p>Answer: {@code {text, lines: [{text, confidence, box: [[x, y] x 4]}], engine, timings}}; {@code detail=text} leaves out
 * {@code lines}. Engine vlm asks the served chat model to transcribe the image: its lines have text only (no box, no
 * confidence).
 */
@RestController
public class OcrController {

    public static final List<String> ENGINES = List.of("ppocr", "vlm");
    public static final List<String> DETAILS = List.of("lines", "text");
    static final String VLM_PROMPT = "Read all the text in this image. Answer with the text only, line by line.";

    private final OcrService ocr;
    private final ServedModel served;
    private final OcrProperties props;
    private final ImageLimits limits;
    private final ImageSourceResolver images;
    private final ObjectMapper json;
    /** Bounds the ppocr requests in flight (their memory); engine=vlm goes through the engine's own queue instead. */
    private final java.util.concurrent.Semaphore ppocrSlots;

    public OcrController(OcrService ocr, ServedModel served, GlimpseProperties glimpse, OcrProperties props, ObjectMapper json) {
        this.ocr = ocr;
        this.served = served;
        this.props = props;
        this.json = json;
        GlimpseProperties.Limits l = glimpse.limits();
        this.limits = new ImageLimits(l.maxImageBytes(), l.maxImagePixels(), l.maxImageSide());
        this.images = new ImageSourceResolver(glimpse.remoteImages(), l.maxImageBytes());
        this.ppocrSlots = new java.util.concurrent.Semaphore(props.concurrency(), true);
    }

    /** Parsed request options. */
    record Options(String engine, double minConfidence, String detail, Boolean angle, int maxTokens) {}

    @PostMapping(path = "/v1/ocr", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public ObjectNode multipart(@RequestParam(name = "file", required = false) MultipartFile file,
                                @RequestParam Map<String, String> params) throws Exception {
        Options o = options(name -> params.get(name));
        if (file == null || file.isEmpty()) {
            throw GlimpseException.invalid("missing_image", "file",
                    "send the image as multipart field 'file' (or as JSON {\"image\": \"data:image/png;base64,...\"})");
        }
        limits.requireBytesWithin(file.getSize());
        byte[] bytes;
        try {
            bytes = file.getBytes();
        } catch (IOException e) {
            throw GlimpseException.invalid("invalid_image", "file", "could not read the uploaded file: " + e.getMessage());
        }
        return run(bytes, "file", o);
    }

    @PostMapping(path = "/v1/ocr", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ObjectNode json(@RequestBody JsonNode body, @RequestParam Map<String, String> query) throws Exception {
        if (body == null || !body.isObject()) {
            throw GlimpseException.invalid("invalid_request", null, "the body must be a JSON object with an \"image\" field");
        }
        Options o = options(name -> {
            JsonNode v = body.get(name);
            if (v == null || v.isNull()) return query.get(name);
            return v.isValueNode() ? v.asText() : v.toString();
        });
        JsonNode image = body.get("image");
        if (image == null || image.isNull()) {
            throw GlimpseException.invalid("missing_image", "image", "the body has no \"image\" (a data URL: data:image/png;base64,...)");
        }
        if (!image.isTextual()) throw GlimpseException.invalid("invalid_image_url", "image", "\"image\" must be a string (a data URL)");
        return run(images.resolve(image.asText(), "image"), "image", o);
    }

    private Options options(java.util.function.Function<String, String> get) {
        String engine = get.apply("engine");
        engine = engine == null || engine.isBlank() ? "ppocr" : engine.trim().toLowerCase(Locale.ROOT);
        if (!ENGINES.contains(engine)) {
            throw GlimpseException.invalid("invalid_value", "engine", "engine '" + get.apply("engine") + "' is not valid; valid: " + ENGINES);
        }
        double minConfidence = props.minConfidence();
        String mc = get.apply("min_confidence");
        if (mc != null && !mc.isBlank()) {
            try {
                minConfidence = Double.parseDouble(mc.trim());
            } catch (NumberFormatException e) {
                minConfidence = Double.NaN;
            }
            if (!(minConfidence >= 0 && minConfidence <= 1)) {
                throw GlimpseException.invalid("invalid_value", "min_confidence", "min_confidence must be a number in [0, 1], got '" + mc + "'");
            }
        }
        String detail = get.apply("detail");
        detail = detail == null || detail.isBlank() ? "lines" : detail.trim().toLowerCase(Locale.ROOT);
        if (!DETAILS.contains(detail)) {
            throw GlimpseException.invalid("invalid_value", "detail", "detail '" + get.apply("detail") + "' is not valid; valid: " + DETAILS);
        }
        Boolean angle = null;
        String a = get.apply("angle_cls");
        if (a != null && !a.isBlank()) {
            String v = a.trim().toLowerCase(Locale.ROOT);
            if (!v.equals("true") && !v.equals("false")) {
                throw GlimpseException.invalid("invalid_value", "angle_cls", "angle_cls must be true or false, got '" + a + "'");
            }
            angle = Boolean.valueOf(v);
        }
        int maxTokens = props.vlmMaxTokens();
        String mt = get.apply("max_tokens");
        if (mt != null && !mt.isBlank()) {
            try {
                maxTokens = Integer.parseInt(mt.trim());
            } catch (NumberFormatException e) {
                maxTokens = 0;
            }
            if (maxTokens <= 0) throw GlimpseException.invalid("invalid_value", "max_tokens", "max_tokens must be a positive integer, got '" + mt + "'");
        }
        return new Options(engine, minConfidence, detail, angle, maxTokens);
    }

    private ObjectNode run(byte[] bytes, String param, Options o) throws Exception {
        return o.engine().equals("vlm") ? vlm(bytes, param, o) : ppocr(bytes, param, o);
    }

    private ObjectNode ppocr(byte[] bytes, String param, Options o) throws InterruptedException {
        var pipeline = ocr.pipeline(); // 503 with the install command when the models are missing
        if (!ppocrSlots.tryAcquire(10, java.util.concurrent.TimeUnit.SECONDS)) {
            throw GlimpseException.overloaded("all " + props.concurrency() + " OCR slots stayed busy for 10 s; retry shortly "
                    + "(glimpse.ocr.max-concurrent)");
        }
        try {
            return ppocr(pipeline, bytes, param, o);
        } finally {
            ppocrSlots.release();
        }
    }

    private ObjectNode ppocr(PpOcrPipeline pipeline, byte[] bytes, String param, Options o) {
        long t0 = System.nanoTime();
        DecodedImage image;
        try {
            image = ImageDecoder.decode(bytes, limits);
        } catch (GlimpseException e) {
            throw new GlimpseException(e.status(), e.type(), e.code(), param, e.getMessage(), e);
        }
        double decodeMs = Math.round((System.nanoTime() - t0) / 1e4) / 100.0;
        OcrResult r = o.angle() == null ? pipeline.run(image, o.minConfidence()) : pipeline.run(image, o.minConfidence(), o.angle());
        ObjectNode root = json.createObjectNode().put("text", r.text());
        if (o.detail().equals("lines")) {
            ArrayNode lines = root.putArray("lines");
            for (OcrLine l : r.lines()) {
                ObjectNode line = lines.addObject().put("text", l.text()).put("confidence", Math.round(l.confidence() * 1e4) / 1e4);
                ArrayNode box = line.putArray("box");
                for (int[] pt : l.box().toIntArray()) box.addArray().add(pt[0]).add(pt[1]);
            }
        }
        root.put("engine", "ppocr");
        ObjectNode timings = root.putObject("timings").put("decode_ms", decodeMs);
        r.timings().forEach(timings::put);
        timings.put("total_ms", Math.round((System.nanoTime() - t0) / 1e4) / 100.0);
        return root;
    }

    private ObjectNode vlm(byte[] bytes, String param, Options o) throws Exception {
        long t0 = System.nanoTime();
        ChatMessage msg = new ChatMessage("user", List.of(new ImagePart(0), new TextPart(VLM_PROMPT)));
        SamplingParams params = new SamplingParams(0.0, 1.0, 0, o.maxTokens(), null, List.of());
        PreparedRequest req = served.prepare(List.of(msg), List.of(new ServedModel.ImageInput(bytes, param)), params);
        GenerationResult g;
        try {
            g = served.submit(req, TokenSink.NONE, () -> false).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof GlimpseException ge) throw ge;
            throw GlimpseException.internal("generation failed: " + e.getCause().getMessage(), e.getCause());
        }
        String text = g.text().strip();
        ObjectNode root = json.createObjectNode().put("text", text);
        if (o.detail().equals("lines")) {
            ArrayNode lines = root.putArray("lines");
            for (String line : text.split("\n")) {
                if (!line.isBlank()) lines.addObject().put("text", line.strip());
            }
        }
        root.put("engine", "vlm").put("model", served.card().name());
        root.putObject("timings").put("vision_ms", g.visionMillis()).put("prefill_ms", g.prefillMillis())
                .put("decode_ms", g.decodeMillis()).put("total_ms", Math.round((System.nanoTime() - t0) / 1e4) / 100.0);
        return root;
    }
}
