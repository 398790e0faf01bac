package dev.glimpse.family.chameleon;

import dev.glimpse.convert.chameleon.ChameleonVocab;
import dev.glimpse.error.GlimpseException;
import dev.glimpse.text.ChatMessage;
import dev.glimpse.text.ContentPart;
import dev.glimpse.text.HfTokenizer;
import dev.glimpse.text.ImagePart;
import dev.glimpse.text.TextPart;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The Chameleon chat prompt, as Hugging Face's ChameleonProcessor builds a chat-mode prompt and the model card's
 * tokenizer encodes it:
 * <pre>
 * &lt;s&gt; [ turn ]...
 *   user / system turn:  its parts in order (text as tokenized; an image as &lt;racm3:break&gt; + g*g image positions +
 *                        &lt;eoss&gt;) then the separator &lt;reserved08706&gt;
 *   assistant turn:      its text then &lt;/s&gt;
 * </pre>
 * The assistant answers after the last separator and ends with {@code </s>}. Image positions hold the {@code <image>}
 * placeholder here; the runner replaces them with the image's VQ token ids. Text may not spell out a structural special
 * token (400), since the runner and the sampler rely on where those are.
 */
final class ChameleonChatTemplate {

    static final String BOI = "<racm3:break>";
    static final String EOI = "<eoss>";
    static final String SEP = "<reserved08706>";
    static final String IMAGE = "<image>";
    static final String BOS = "<s>";
    static final String EOS = "</s>";

    private final HfTokenizer tokenizer;
    private final long bos, eos, boi, eoi, sep, placeholder;
    private final Set<Long> structural;

    ChameleonChatTemplate(HfTokenizer tokenizer, ChameleonVocab vocab, long imagePlaceholderId) {
        this.tokenizer = tokenizer;
        this.bos = vocab.special(BOS);
        this.eos = vocab.special(EOS);
        this.boi = vocab.special(BOI);
        this.eoi = vocab.special(EOI);
        this.sep = vocab.special(SEP);
        this.placeholder = imagePlaceholderId;
        this.structural = Set.of(bos, eos, boi, eoi, sep, placeholder);
    }

    long placeholderId() {
        return placeholder;
    }

    /** @param imageTokens tokens per image (g*g); images are referenced in order by their parts */
    long[] render(List<ChatMessage> messages, int imageCount, int imageTokens) {
        if (!messages.isEmpty() && messages.get(messages.size() - 1).role().equals("assistant")) {
            // an assistant turn ends in </s>: the prompt would end the sequence instead of asking for an answer
            throw GlimpseException.invalid("invalid_value", "messages", "the last message must be a user or system message: "
                    + "this model answers after the user's turn and has no format for continuing an assistant message");
        }
        List<Long> ids = new ArrayList<>();
        ids.add(bos);
        int nextImage = 0;
        for (ChatMessage m : messages) {
            boolean assistant = m.role().equals("assistant");
            if (!assistant && !m.role().equals("user") && !m.role().equals("system")) {
                throw GlimpseException.invalid("invalid_role", "role", "role '" + m.role() + "' is not valid; valid: [system, user, assistant]");
            }
            for (ContentPart p : m.parts()) {
                if (p instanceof TextPart t) {
                    for (long id : text(t.text())) ids.add(id);
                } else if (p instanceof ImagePart img) {
                    if (assistant) throw GlimpseException.invalid("invalid_content", "content", "assistant messages cannot hold images");
                    if (img.index() != nextImage) throw new IllegalStateException("images out of order: " + img.index());
                    nextImage++;
                    ids.add(boi);
                    for (int i = 0; i < imageTokens; i++) ids.add(placeholder);
                    ids.add(eoi);
                }
            }
            ids.add(assistant ? eos : sep);
        }
        if (nextImage != imageCount) throw new IllegalStateException(imageCount + " images but " + nextImage + " image parts");
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    /** The image-generation prompt: {@code <s>} text {@code <reserved08706> <racm3:break>}; the image tokens follow. */
    long[] renderDraw(String prompt) {
        long[] t = text(prompt);
        long[] out = new long[t.length + 3];
        out[0] = bos;
        System.arraycopy(t, 0, out, 1, t.length);
        out[t.length + 1] = sep;
        out[t.length + 2] = boi;
        return out;
    }

    /** Client text as plain text: the names of special tokens in it are not special (no prompt injection). */
    private long[] text(String s) {
        long[] ids = tokenizer.encodeOrdinary(s);
        for (long id : ids) {   // cannot happen unless the BPE merges spell a structural token; refuse rather than obey it
            if (structural.contains(id)) {
                throw GlimpseException.invalid("invalid_content", "content", "text may not contain the special token '"
                        + tokenizer.decode(new long[] {id}, false) + "'; send images as image parts");
            }
        }
        return ids;
    }

    @Override
    public String toString() {
        return "ChameleonChatTemplate" + Arrays.toString(new long[] {bos, eos, boi, eoi, sep, placeholder});
    }
}
