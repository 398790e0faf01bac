package dev.glimpse.family.chameleon;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.card.ModelCard;
import dev.glimpse.convert.chameleon.ChameleonConfig;
import dev.glimpse.convert.chameleon.ChameleonConverter;
import dev.glimpse.convert.chameleon.ChameleonVocab;
import dev.glimpse.engine.ImageGenerator;
import dev.glimpse.engine.ModelFamily;
import dev.glimpse.engine.ModelRunner;
import dev.glimpse.engine.PreparedImage;
import dev.glimpse.engine.TokenConstraint;
import dev.glimpse.engine.VisionCache;
import dev.glimpse.image.ChameleonPreprocessor;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageKeys;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.runtime.ChameleonModel;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ByteLevelTokenBytes;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.HfTokenizer;
import dev.glimpse.text.TokenBytes;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Chameleon (early fusion): tokenizer.json through DJL, HF's image processor, the VQ-GAN encoder that turns an image into
 * tokens of the shared vocabulary, one decoder over the mixed sequence, and, when the checkpoint has the VQ-GAN decoder,
 * image generation. Image tokens are masked out of text answers and are the only tokens allowed while drawing.
 */
public final class ChameleonFamily implements ModelFamily {

    private final HfTokenizer tokenizer;
    private final ByteLevelTokenBytes tokenBytes;
    private final ChameleonVocab vocab;
    private final ChameleonPreprocessor preprocessor;
    private final ChameleonChatTemplate template;
    private final ChameleonModel model;
    private final ChameleonRunner runner;
    private final TokenConstraint textOnly;
    private final ImageGenerator generator;
    private final int imageTokens;
    private final Path graphs;

    public ChameleonFamily(ModelCard card, OrtRuntime runtime, Path graphCacheDir, VisionCache visionCache) {
        Path ckpt = card.checkpoint();
        JsonNode configJson = ChameleonConfig.readJson(ckpt);   // read once: the config and the vocabulary map
        ChameleonConfig config = ChameleonConfig.parse(configJson);
        this.vocab = ChameleonVocab.fromVocabularyMap(configJson.path("vocabulary_map"), config.text().vocabSize(),
                config.vq().numEmbeddings());
        this.preprocessor = ChameleonPreprocessor.load(ckpt);
        if (preprocessor.resolution() != config.vq().resolution()) {
            throw new IllegalArgumentException(ckpt + ": preprocessor resolution " + preprocessor.resolution()
                    + " differs from vq_config.resolution " + config.vq().resolution());
        }
        this.imageTokens = config.vq().tokensPerImage();
        this.tokenBytes = ByteLevelTokenBytes.load(ckpt.resolve("tokenizer.json"));
        this.graphs = ChameleonConverter.cached(ckpt, graphCacheDir, card.graphDtype());
        HfTokenizer tok = HfTokenizer.load(ckpt.resolve("tokenizer.json"), false);
        ChameleonModel m = null;
        try {
            long placeholder = config.text().imageTokenId() >= 0 ? config.text().imageTokenId()
                    : vocab.special(ChameleonChatTemplate.IMAGE);
            this.template = new ChameleonChatTemplate(tok, vocab, placeholder);
            m = new ChameleonModel(runtime, config, graphs);
        } catch (RuntimeException e) {
            tok.close();
            throw e;
        }
        this.tokenizer = tok;
        this.model = m;
        this.runner = new ChameleonRunner(model, vocab, visionCache, template.placeholderId());
        long[] imageIds = vocab.imageTokenIds();
        this.textOnly = TokenConstraint.ban(imageIds);
        this.generator = model.canDraw() ? new Drawing(imageIds, config.text().vocabSize()) : null;
    }

    boolean isImageToken(int id) {
        return vocab.isImageToken(id);
    }

    @Override
    public TokenBytes tokenBytes() {
        return tokenBytes;
    }

    @Override
    public int specialTokenId(String name) {
        return (int) vocab.special(name);
    }

    @Override
    public PreparedImage prepareImage(byte[] encoded, ImageLimits limits) {
        DecodedImage img = ImageDecoder.decode(encoded, limits, ImageDecoder.Alpha.TRUNCATE_FLOAT64);
        return new ChameleonImage(preprocessor.process(img), ImageKeys.key(img, preprocessor.describe()), imageTokens);
    }

    @Override
    public long[] renderChat(List<ChatMessage> messages, List<PreparedImage> images) {
        return template.render(messages, images.size(), imageTokens);
    }

    @Override
    public TokenConstraint textConstraint() {
        return textOnly;
    }

    @Override
    public ModelRunner runner() {
        return runner;
    }

    @Override
    public ImageGenerator imageGenerator() {
        return generator;
    }

    @Override
    public String describe() {
        return "graphs in " + graphs + (generator == null ? "" : ", draws " + generator.sizes().get(0));
    }

    /** Drawing: the prompt ends with {@code <racm3:break>}; exactly g*g image tokens follow, then the VQ-GAN decoder. */
    private final class Drawing implements ImageGenerator {
        private final TokenConstraint onlyImageTokens;

        Drawing(long[] imageIds, int vocabSize) {
            this.onlyImageTokens = TokenConstraint.only(imageIds, vocabSize);
        }

        @Override
        public List<String> sizes() {
            int r = preprocessor.resolution();
            return List.of(r + "x" + r);
        }

        @Override
        public long[] renderPrompt(String prompt) {
            return template.renderDraw(prompt);
        }

        @Override
        public int imageTokens() {
            return imageTokens;
        }

        @Override
        public TokenConstraint constraint() {
            return onlyImageTokens;
        }

        @Override
        public DecodedImage render(int[] tokenIds) {
            if (tokenIds.length != imageTokens) {
                throw new IllegalStateException("an image needs " + imageTokens + " tokens, got " + tokenIds.length);
            }
            long[] codes = new long[imageTokens];
            for (int i = 0; i < imageTokens; i++) {
                codes[i] = vocab.codeOfId(tokenIds[i]);
                if (codes[i] < 0) throw new IllegalStateException("token " + tokenIds[i] + " is not an image token");
            }
            return toImage(model.decodeCodes(codes, 1), preprocessor.resolution());
        }
    }

    /**
     * VQ-GAN decoder output (3, R, R) -> RGB: clamp to [-1, 1], (x + 1) / 2 * 255 in float32, truncated (Meta's
     * _pil_from_chw_tensor, which Anole uses).
     */
    static DecodedImage toImage(float[] chw, int r) {
        int plane = r * r;
        byte[] rgb = new byte[3 * plane];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                float x = (Math.max(-1f, Math.min(1f, chw[c * plane + i])) + 1f) / 2f;
                rgb[i * 3 + c] = (byte) (int) (x * 255f);
            }
        }
        return new DecodedImage(r, r, rgb);
    }

    @Override
    public void close() throws Exception {
        runner.close();
        model.close();
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "ChameleonFamily" + Arrays.asList(graphs, imageTokens);
    }
}
