package dev.glimpse.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's binding of the Rust tokenizers library (the Chameleon family's
 * tokenizer). Loaded from a local file only: DJL_OFFLINE=true (or OPT_OUT_TRACKING=true) keeps DJL off the network.
 * Thread-safe for encode/decode; owns a native handle, so close it.
 */
public final class HfTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;

    private HfTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * @param addSpecialTokens apply the file's post-processor (e.g. a leading {@code <s>}), as Hugging Face's
     *                         {@code tokenizer(text)} does by default
     */
    public static HfTokenizer load(Path tokenizerJson, boolean addSpecialTokens) {
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", Boolean.toString(addSpecialTokens), "truncation", "false", "padding", "false")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + tokenizerJson, e);
        }
    }

    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text);
        return e.getIds();
    }

    public String decode(long[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(ids, skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
