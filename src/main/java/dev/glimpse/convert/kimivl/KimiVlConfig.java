package dev.glimpse.convert.kimivl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * config.json of a Kimi-VL checkpoint (model_type kimi_vl): MoonViT vision_config + DeepSeek-V3 text_config. Every graph
 * dimension comes from here; nothing in the converter assumes the tiny or the real sizes.
 */
public record KimiVlConfig(Vision vision, Text text, long mediaPlaceholderTokenId) {

    public record Vision(int patchSize, int posEmbHeight, int posEmbWidth, int numHeads, int numLayers, int hidden,
                         int intermediate, int mergeH, int mergeW) {
        public Vision {
            require(hidden % numHeads == 0, "vision_config.hidden_size must be divisible by num_attention_heads");
            require((hidden / numHeads) % 4 == 0, "vision head_dim (hidden_size / num_attention_heads) must be divisible by 4 for 2D RoPE");
        }

        public int headDim() { return hidden / numHeads; }
    }

    public record Text(int vocabSize, int hidden, int intermediate, int moeIntermediate, int numLayers, int numHeads,
                       int nSharedExperts, int nRoutedExperts, int numExpertsPerTok, double routedScalingFactor,
                       int kvLoraRank, int qkRopeHeadDim, int qkNopeHeadDim, int vHeadDim, int firstKDenseReplace,
                       int moeLayerFreq, boolean normTopkProb, double rmsNormEps, double ropeTheta,
                       int maxPositionEmbeddings, long bosTokenId, long eosTokenId) {
        public Text {
            require(qkRopeHeadDim % 2 == 0, "text_config.qk_rope_head_dim must be even");
            require(numExpertsPerTok <= nRoutedExperts, "text_config.num_experts_per_tok must be <= n_routed_experts");
        }

        public boolean isMoeLayer(int layer) {
            return nRoutedExperts > 0 && layer >= firstKDenseReplace && layer % Math.max(1, moeLayerFreq) == 0;
        }

        /** Bytes of MLA KV cache per token per layer in fp32: the compressed latent plus the shared rope key. */
        public int latentDim() { return kvLoraRank + qkRopeHeadDim; }
    }

    public static KimiVlConfig load(Path checkpointDir) {
        Path file = checkpointDir.resolve("config.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        String modelType = root.path("model_type").asText("");
        require(modelType.equals("kimi_vl"), file + ": model_type is '" + modelType + "', expected 'kimi_vl'");
        JsonNode v = node(root, "vision_config");
        JsonNode t = node(root, "text_config");
        JsonNode merge = v.path("merge_kernel_size");
        Vision vision = new Vision(
                integer(v, "vision_config", "patch_size"), integer(v, "vision_config", "init_pos_emb_height"),
                integer(v, "vision_config", "init_pos_emb_width"), integer(v, "vision_config", "num_attention_heads"),
                integer(v, "vision_config", "num_hidden_layers"), integer(v, "vision_config", "hidden_size"),
                integer(v, "vision_config", "intermediate_size"),
                merge.isArray() ? merge.get(0).asInt() : 2, merge.isArray() ? merge.get(1).asInt() : 2);
        String scoring = t.path("scoring_func").asText("sigmoid");
        require(scoring.equals("sigmoid"), "text_config.scoring_func '" + scoring + "' is not supported; valid: [sigmoid]");
        require(t.path("q_lora_rank").isNull() || t.path("q_lora_rank").isMissingNode(),
                "text_config.q_lora_rank must be null (Kimi-VL projects q directly); got " + t.path("q_lora_rank"));
        require(t.path("rope_scaling").isNull() || t.path("rope_scaling").isMissingNode(),
                "text_config.rope_scaling " + t.path("rope_scaling") + " is not supported; valid: [null]");
        int nGroup = t.path("n_group").asInt(1);
        require(nGroup == 1, "text_config.n_group " + nGroup + " is not supported; valid: [1]");
        String act = t.path("hidden_act").asText("silu");
        require(act.equals("silu"), "text_config.hidden_act '" + act + "' is not supported; valid: [silu]");
        Text text = new Text(
                integer(t, "text_config", "vocab_size"), integer(t, "text_config", "hidden_size"),
                integer(t, "text_config", "intermediate_size"), integer(t, "text_config", "moe_intermediate_size"),
                integer(t, "text_config", "num_hidden_layers"), integer(t, "text_config", "num_attention_heads"),
                t.path("n_shared_experts").asInt(0), t.path("n_routed_experts").asInt(0),
                t.path("num_experts_per_tok").asInt(0), t.path("routed_scaling_factor").asDouble(1.0),
                integer(t, "text_config", "kv_lora_rank"), integer(t, "text_config", "qk_rope_head_dim"),
                integer(t, "text_config", "qk_nope_head_dim"), integer(t, "text_config", "v_head_dim"),
                t.path("first_k_dense_replace").asInt(0), t.path("moe_layer_freq").asInt(1),
                t.path("norm_topk_prob").asBoolean(false), t.path("rms_norm_eps").asDouble(1e-6),
                t.path("rope_theta").asDouble(10000.0), t.path("max_position_embeddings").asInt(8192),
                t.path("bos_token_id").asLong(-1), t.path("eos_token_id").asLong(-1));
        long placeholder = root.path("media_placeholder_token_id").asLong(-1);
        require(placeholder >= 0, file + ": media_placeholder_token_id is missing");
        return new KimiVlConfig(vision, text, placeholder);
    }

    private static JsonNode node(JsonNode root, String field) {
        JsonNode n = root.get(field);
        require(n != null && n.isObject(), "config.json has no object '" + field + "'");
        return n;
    }

    private static int integer(JsonNode n, String section, String field) {
        JsonNode v = n.get(field);
        require(v != null && v.canConvertToInt(), section + "." + field + " is missing or not an integer");
        return v.asInt();
    }

    static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
