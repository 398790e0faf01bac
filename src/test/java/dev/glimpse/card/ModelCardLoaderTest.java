package dev.glimpse.card;

import dev.glimpse.card.ModelCardLoader.InvalidModelCardException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ModelCardLoaderTest {

    static final Path TINY = Path.of("model-cards/tiny-kimi-vl");

    @TempDir
    Path tmp;

    @Test
    void loadsTheTinyCardAsWritten() {
        ModelCard card = ModelCardLoader.load(TINY);
        assertEquals("tiny-kimi-vl", card.name());
        assertEquals("kimi-vl", card.family());
        assertEquals("fp32", card.graphDtype());
        assertEquals(TINY.normalize(), card.checkpoint());
        assertTrue(Files.isRegularFile(card.checkpoint().resolve("config.json")));
        assertEquals(4096, card.imageTokenLimit());
        assertEquals(8, card.maxImages());
        assertEquals(4096, card.contextLength());
        assertEquals(new ModelCard.DefaultSampling(0.0, 1.0, 0, 64), card.defaults());
        assertEquals(List.of("<|im_end|>", "[EOS]"), card.stopTokens());
        assertEquals(TINY, card.cardDir());
    }

    @Test
    void defaultsApplyWhereTheCardIsSilent() throws Exception {
        Path dir = card("{\"name\": \"m\", \"family\": \"kimi-vl\"}");
        ModelCard card = ModelCardLoader.load(dir);
        assertEquals("fp32", card.graphDtype());
        assertEquals(dir.normalize(), card.checkpoint());
        assertEquals(4096, card.imageTokenLimit());
        assertEquals(8, card.maxImages());
        assertEquals(4096, card.contextLength());
        assertEquals(new ModelCard.DefaultSampling(0.0, 1.0, 0, 256), card.defaults());
        assertEquals(new ModelCard.ImageSampling(1.0, 0.9, 0), card.imageDefaults());
        assertEquals(List.of(), card.stopTokens());
    }

    @Test
    void imageSamplingIsReadAndCheckedLikeTextSampling() throws Exception {
        ModelCard card = ModelCardLoader.load(card(base("\"default_image_sampling\": {\"temperature\": 0, \"top_k\": 5}")));
        assertEquals(new ModelCard.ImageSampling(0.0, 0.9, 5), card.imageDefaults());
        assertEquals(new ModelCard.DefaultSampling(0.0, 1.0, 0, 256), card.defaults(), "text sampling is separate");
        assertTrue(fails(base("\"default_image_sampling\": {\"top_p\": 1.5}")).contains("field 'default_image_sampling.top_p'"));
        assertTrue(fails(base("\"default_image_sampling\": {\"temperature\": \"hot\"}"))
                .contains("field 'default_image_sampling.temperature'"));
        assertTrue(fails(base("\"default_image_sampling\": 0")).contains("field 'default_image_sampling'"));
    }

    @Test
    void missingCardFile() {
        String msg = assertThrows(InvalidModelCardException.class, () -> ModelCardLoader.load(tmp)).getMessage();
        assertTrue(msg.contains("field 'file'"), msg);
        assertTrue(msg.contains("card.json"), msg);
    }

    @Test
    void badJson() throws Exception {
        String msg = fails("{\"name\": \"m\", ");
        assertTrue(msg.contains("field '(json)'"), msg);
        assertTrue(msg.contains("not valid JSON"), msg);
    }

    @Test
    void missingName() throws Exception {
        String msg = fails("{\"family\": \"kimi-vl\"}");
        assertTrue(msg.contains("field 'name' is required"), msg);
    }

    @Test
    void unknownFamilyListsTheValidOnes() throws Exception {
        String msg = fails("{\"name\": \"m\", \"family\": \"llama\"}");
        assertTrue(msg.contains("field 'family'"), msg);
        assertTrue(msg.contains("'llama'"), msg);
        assertTrue(msg.contains("[kimi-vl, chameleon]"), msg);
    }

    @Test
    void unknownDtypeListsTheValidOnes() throws Exception {
        String msg = fails("{\"name\": \"m\", \"family\": \"kimi-vl\", \"graph_dtype\": \"int3\"}");
        assertTrue(msg.contains("field 'graph_dtype'"), msg);
        assertTrue(msg.contains("'int3'"), msg);
        assertTrue(msg.contains("[fp32]"), msg);
    }

    @Test
    void checkpointWithoutConfigJson() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("card"));
        Files.createDirectories(dir.resolve("ckpt"));
        Files.writeString(dir.resolve("card.json"), "{\"name\": \"m\", \"family\": \"kimi-vl\", \"checkpoint\": \"ckpt\"}");
        String msg = assertThrows(InvalidModelCardException.class, () -> ModelCardLoader.load(dir)).getMessage();
        assertTrue(msg.contains("field 'checkpoint'"), msg);
        assertTrue(msg.contains("has no config.json"), msg);
    }

    @Test
    void topPZero() throws Exception {
        String msg = fails(base("\"default_sampling\": {\"top_p\": 0}"));
        assertTrue(msg.contains("field 'default_sampling.top_p'"), msg);
    }

    @Test
    void maxTokensZero() throws Exception {
        String msg = fails(base("\"default_sampling\": {\"max_tokens\": 0}"));
        assertTrue(msg.contains("field 'default_sampling.max_tokens'"), msg);
    }

    @Test
    void negativeTemperatureAndTopK() throws Exception {
        assertTrue(fails(base("\"default_sampling\": {\"temperature\": -0.5}")).contains("field 'default_sampling.temperature'"));
        assertTrue(fails(base("\"default_sampling\": {\"top_k\": -1}")).contains("field 'default_sampling.top_k'"));
    }

    @Test
    void nonPositiveIntegers() throws Exception {
        assertTrue(fails(base("\"max_images\": 0")).contains("field 'max_images'"));
        assertTrue(fails(base("\"context_length\": -3")).contains("field 'context_length'"));
        assertTrue(fails(base("\"image_token_limit\": \"many\"")).contains("field 'image_token_limit'"));
    }

    @Test
    void wrongTypesAreErrorsNotSilentDefaults() throws Exception {
        // Before the fix these loaded: "hot" became temperature 0.0 (greedy), 1.5 became max_tokens 1.
        assertTrue(fails(base("\"default_sampling\": {\"temperature\": \"hot\"}")).contains("field 'default_sampling.temperature'"));
        assertTrue(fails(base("\"default_sampling\": {\"top_p\": \"0.9\"}")).contains("field 'default_sampling.top_p'"));
        assertTrue(fails(base("\"default_sampling\": {\"max_tokens\": 1.5}")).contains("field 'default_sampling.max_tokens'"));
        assertTrue(fails(base("\"default_sampling\": {\"top_k\": true}")).contains("field 'default_sampling.top_k'"));
        assertTrue(fails(base("\"default_sampling\": \"greedy\"")).contains("field 'default_sampling'"));
        assertTrue(fails(base("\"max_images\": 2.5")).contains("field 'max_images'"));
    }

    @Test
    void stopTokensNotAnArray() throws Exception {
        String msg = fails(base("\"stop_tokens\": \"<|im_end|>\""));
        assertTrue(msg.contains("field 'stop_tokens'"), msg);
        assertTrue(msg.contains("array"), msg);
    }

    /** A card that passes every check except the extra field, with config.json so the checkpoint check passes. */
    static String base(String extra) {
        return "{\"name\": \"m\", \"family\": \"kimi-vl\", " + extra + "}";
    }

    Path card(String json) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("card"));
        Files.writeString(dir.resolve("card.json"), json);
        Files.writeString(dir.resolve("config.json"), "{}");
        return dir;
    }

    String fails(String json) throws Exception {
        Path dir = card(json);
        return assertThrows(InvalidModelCardException.class, () -> ModelCardLoader.load(dir)).getMessage();
    }
}
