package dev.glimpse.convert.chameleon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * config.json of a Chameleon checkpoint (model_type chameleon): a Llama-like decoder with per-head QK layer norm and
 * optional swin_norm over one vocabulary that holds text and VQ image tokens, plus the VQ-GAN's vq_config. Unknown keys
 * (e.g. Meta's original vq names that Hugging Face keeps) are ignored.
 */
public record ChameleonConfig(Text text, Vq vq) {

    public record Text(int vocabSize, int hidden, int intermediate, int numLayers, int numHeads, int numKvHeads,
                       double rmsNormEps, double ropeTheta, int maxPositionEmbeddings, boolean swinNorm,
                       long bosTokenId, long eosTokenId, long imageTokenId) {
        public Text {
            require(hidden % numHeads == 0, "hidden_size must be divisible by num_attention_heads");
            require(numHeads % numKvHeads == 0, "num_attention_heads must be a multiple of num_key_value_heads");
            require((hidden / numHeads) % 2 == 0, "head_dim must be even for RoPE");
        }

        public int headDim() { return hidden / numHeads; }
    }

    /**
     * @param resolution      input side in pixels (square); the latent grid is resolution / 2^(levels - 1)
     * @param channelMultiplier per level; one downsample between consecutive levels
     */
    public record Vq(int embedDim, int numEmbeddings, int latentChannels, int resolution, int inChannels, int outChannels,
                     int baseChannels, List<Integer> channelMultiplier, int numResBlocks, List<Integer> attnResolutions,
                     boolean doubleLatent) {
        public Vq {
            require(!channelMultiplier.isEmpty(), "vq_config.channel_multiplier must not be empty");
            require(resolution % (1 << (channelMultiplier.size() - 1)) == 0,
                    "vq_config.resolution must be divisible by 2^(levels - 1)");
            require(!doubleLatent, "vq_config.double_latent = true is not supported");
        }

        /** Side of the code grid: one code per latent position, row-major. */
        public int gridSide() {
            return resolution >> (channelMultiplier.size() - 1);
        }

        public int tokensPerImage() {
            return gridSide() * gridSide();
        }
    }

    public static ChameleonConfig load(Path checkpointDir) {
        return parse(readJson(checkpointDir));
    }

    /** The checkpoint's config.json as a tree (the family also reads its vocabulary_map from it). */
    public static JsonNode readJson(Path checkpointDir) {
        try {
            return new ObjectMapper().readTree(checkpointDir.resolve("config.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + checkpointDir.resolve("config.json"), e);
        }
    }

    /** @param c config.json as read by {@link #readJson} */
    public static ChameleonConfig parse(JsonNode c) {
        require("chameleon".equals(c.path("model_type").asText()), "config.json model_type must be 'chameleon', got '"
                + c.path("model_type").asText() + "'");
        int heads = intField(c, "num_attention_heads");
        Text text = new Text(intField(c, "vocab_size"), intField(c, "hidden_size"), intField(c, "intermediate_size"),
                intField(c, "num_hidden_layers"), heads, c.path("num_key_value_heads").asInt(heads),
                c.path("rms_norm_eps").asDouble(1e-5), c.path("rope_theta").asDouble(10000.0),
                c.path("max_position_embeddings").asInt(4096), c.path("swin_norm").asBoolean(false),
                c.path("bos_token_id").asLong(0), c.path("eos_token_id").asLong(2), c.path("image_token_id").asLong(-1));
        JsonNode v = c.path("vq_config");
        require(v.isObject(), "config.json has no vq_config");
        Vq vq = new Vq(intField(v, "embed_dim"), intField(v, "num_embeddings"), intField(v, "latent_channels"),
                intField(v, "resolution"), v.path("in_channels").asInt(3), v.path("out_channels").asInt(3),
                intField(v, "base_channels"), ints(v.path("channel_multiplier")), intField(v, "num_res_blocks"),
                ints(v.path("attn_resolutions")), v.path("double_latent").asBoolean(false));
        return new ChameleonConfig(text, vq);
    }

    private static int intField(JsonNode n, String field) {
        JsonNode v = n.get(field);
        require(v != null && v.canConvertToInt(), "config.json: '" + field + "' must be an integer");
        return v.asInt();
    }

    private static List<Integer> ints(JsonNode arr) {
        List<Integer> out = new ArrayList<>();
        arr.forEach(x -> out.add(x.asInt()));
        return out;
    }

    static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }
}
