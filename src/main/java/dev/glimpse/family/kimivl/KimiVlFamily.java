package dev.glimpse.family.kimivl;

import dev.glimpse.card.ModelCard;
import dev.glimpse.convert.kimivl.KimiVlConfig;
import dev.glimpse.convert.kimivl.KimiVlConverter;
import dev.glimpse.engine.ImageGenerator;
import dev.glimpse.engine.ModelFamily;
import dev.glimpse.engine.ModelRunner;
import dev.glimpse.engine.PreparedImage;
import dev.glimpse.engine.TokenConstraint;
import dev.glimpse.engine.VisionCache;
import dev.glimpse.image.DecodedImage;
import dev.glimpse.image.ImageDecoder;
import dev.glimpse.image.ImageKeys;
import dev.glimpse.image.ImageLimits;
import dev.glimpse.image.KimiVlPreprocessor;
import dev.glimpse.image.KimiVlPreprocessorConfig;
import dev.glimpse.runtime.KimiVlModel;
import dev.glimpse.runtime.OrtRuntime;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.KimiChatTemplate;
import dev.glimpse.text.TiktokenTokenizer;
import dev.glimpse.text.TokenBytes;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Kimi-VL: tiktoken tokenizer and chat template, the native-resolution preprocessor (image token limit capped by the
 * card), and the vision + MLA/MoE decoder graphs behind a {@link KimiVlRunner}. Reads images; does not draw.
 */
public final class KimiVlFamily implements ModelFamily {

    private final TiktokenTokenizer tokenizer;
    private final KimiChatTemplate template;
    private final KimiVlPreprocessor preprocessor;
    private final KimiVlModel model;
    private final KimiVlRunner runner;
    private final Path graphs;

    public KimiVlFamily(ModelCard card, OrtRuntime runtime, Path graphCacheDir, VisionCache visionCache) {
        Path ckpt = card.checkpoint();
        KimiVlConfig config = KimiVlConfig.load(ckpt);
        this.tokenizer = TiktokenTokenizer.load(ckpt.resolve("tiktoken.model"), ckpt.resolve("tokenizer_config.json"));
        this.template = new KimiChatTemplate(tokenizer);
        KimiVlPreprocessorConfig pc = KimiVlPreprocessorConfig.fromJson(ckpt.resolve("preprocessor_config.json"));
        this.preprocessor = new KimiVlPreprocessor(new KimiVlPreprocessorConfig(pc.patchSize(), pc.mergeKernelH(),
                pc.mergeKernelW(), Math.min(pc.inTokenLimit(), card.imageTokenLimit()), pc.mean(), pc.std(), pc.padInput()));
        this.graphs = KimiVlConverter.cached(ckpt, graphCacheDir, card.graphDtype());
        this.model = new KimiVlModel(runtime, config, graphs);
        this.runner = new KimiVlRunner(model, visionCache);
    }

    public TiktokenTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public TokenBytes tokenBytes() {
        return tokenizer;
    }

    @Override
    public int specialTokenId(String name) {
        return tokenizer.specialId(name);
    }

    @Override
    public PreparedImage prepareImage(byte[] encoded, ImageLimits limits) {
        DecodedImage img = ImageDecoder.decode(encoded, limits);
        return new KimiVlImage(preprocessor.process(img), ImageKeys.key(img, preprocessor.config().toString()));
    }

    @Override
    public long[] renderChat(List<ChatMessage> messages, List<PreparedImage> images) {
        List<Integer> counts = new ArrayList<>(images.size());
        for (PreparedImage i : images) counts.add(i.tokens());
        int[] ids = template.render(messages, counts, true);
        long[] prompt = new long[ids.length];
        for (int i = 0; i < ids.length; i++) prompt[i] = ids[i];
        return prompt;
    }

    @Override
    public TokenConstraint textConstraint() {
        return TokenConstraint.NONE;
    }

    @Override
    public ModelRunner runner() {
        return runner;
    }

    @Override
    public ImageGenerator imageGenerator() {
        return null;
    }

    @Override
    public String describe() {
        return "graphs in " + graphs;
    }

    @Override
    public void close() throws Exception {
        runner.close();
        model.close();
    }
}
