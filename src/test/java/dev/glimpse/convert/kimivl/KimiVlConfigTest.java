package dev.glimpse.convert.kimivl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

class KimiVlConfigTest {

    /** The random-weight parity checkpoint (the bundled tiny-kimi-vl is the trained, larger model). */
    static final Path TINY = Path.of("src/test/resources/golden/kimivl/checkpoint");
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void loadsTheTinyConfig() {
        KimiVlConfig c = KimiVlConfig.load(TINY);
        assertEquals(533, c.mediaPlaceholderTokenId());
        assertEquals(new KimiVlConfig.Vision(14, 64, 64, 4, 2, 64, 128, 2, 2), c.vision());
        assertEquals(16, c.vision().headDim());
        KimiVlConfig.Text t = c.text();
        assertEquals(768, t.vocabSize());
        assertEquals(64, t.hidden());
        assertEquals(3, t.numLayers());
        assertEquals(8, t.nRoutedExperts());
        assertEquals(2, t.numExpertsPerTok());
        assertEquals(2.446, t.routedScalingFactor());
        assertEquals(32 + 8, t.latentDim());
        assertEquals(1e-5, t.rmsNormEps());
        assertEquals(800000.0, t.ropeTheta());
        assertEquals(512, t.bosTokenId());
        assertEquals(513, t.eosTokenId());
        assertTrue(t.normTopkProb());
        // first_k_dense_replace = 1: layer 0 dense, layers 1 and 2 MoE.
        assertFalse(t.isMoeLayer(0));
        assertTrue(t.isMoeLayer(1));
        assertTrue(t.isMoeLayer(2));
    }

    Path edited(Consumer<ObjectNode> edit) throws Exception {
        ObjectNode root = (ObjectNode) JSON.readTree(TINY.resolve("config.json").toFile());
        edit.accept(root);
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        JSON.writeValue(dir.resolve("config.json").toFile(), root);
        return dir;
    }

    String fails(Consumer<ObjectNode> edit) throws Exception {
        Path dir = edited(edit);
        return assertThrows(IllegalArgumentException.class, () -> KimiVlConfig.load(dir)).getMessage();
    }

    static ObjectNode text(ObjectNode root) {
        return (ObjectNode) root.get("text_config");
    }

    @Test
    void wrongModelType() throws Exception {
        String msg = fails(r -> r.put("model_type", "llava"));
        assertTrue(msg.contains("model_type is 'llava'") && msg.contains("'kimi_vl'"), msg);
        assertTrue(fails(r -> r.remove("model_type")).contains("model_type is ''"));
    }

    @Test
    void ropeScalingMustBeNull() throws Exception {
        String msg = fails(r -> text(r).putObject("rope_scaling").put("type", "yarn").put("factor", 4.0));
        assertTrue(msg.contains("text_config.rope_scaling"), msg);
        assertTrue(msg.contains("yarn"), msg);
        assertTrue(msg.contains("[null]"), msg);
        // Absent is as good as null.
        Path dir = edited(r -> text(r).remove("rope_scaling"));
        assertEquals(64, KimiVlConfig.load(dir).text().hidden());
    }

    @Test
    void missingTextHiddenSizeNamesTheField() throws Exception {
        String msg = fails(r -> text(r).remove("hidden_size"));
        assertTrue(msg.contains("text_config.hidden_size"), msg);
        assertTrue(fails(r -> text(r).put("hidden_size", "64")).contains("text_config.hidden_size"));
        assertTrue(fails(r -> ((ObjectNode) r.get("vision_config")).remove("patch_size")).contains("vision_config.patch_size"));
    }

    @Test
    void otherUnsupportedSettingsNameTheirField() throws Exception {
        assertTrue(fails(r -> r.remove("text_config")).contains("'text_config'"));
        assertTrue(fails(r -> text(r).put("q_lora_rank", 16)).contains("text_config.q_lora_rank"));
        assertTrue(fails(r -> text(r).put("scoring_func", "softmax")).contains("text_config.scoring_func"));
        assertTrue(fails(r -> text(r).put("n_group", 2)).contains("text_config.n_group"));
        assertTrue(fails(r -> text(r).put("hidden_act", "gelu")).contains("text_config.hidden_act"));
        assertTrue(fails(r -> text(r).put("qk_rope_head_dim", 7)).contains("text_config.qk_rope_head_dim"));
        assertTrue(fails(r -> text(r).put("num_experts_per_tok", 9)).contains("text_config.num_experts_per_tok"));
        assertTrue(fails(r -> ((ObjectNode) r.get("vision_config")).put("num_attention_heads", 3)).contains("vision_config.hidden_size"));
        assertTrue(fails(r -> r.remove("media_placeholder_token_id")).contains("media_placeholder_token_id"));
    }
}
