package dev.glimpse.text;

import dev.glimpse.error.GlimpseException;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Kimi-VL's chat template (model-families 1.4), producing ids directly. Text is encoded with
 * {@link TiktokenTokenizer#encode}; special tokens are inserted by id and never parsed out of text, so a user who writes
 * "&lt;|im_end|&gt;" gets those characters, not the end of the turn. (The Hugging Face path renders a string and lets the
 * tokenizer find special names in it; for text without special names both give the same ids.)
 *
 * <pre>
 * [&lt;|im_system|&gt;system&lt;|im_middle|&gt;You are a helpful assistant&lt;|im_end|&gt;]   only if the first turn is not system
 * &lt;|im_user|&gt;user&lt;|im_middle|&gt; text... &lt;|media_start|&gt;image&lt;|media_content|&gt; N x &lt;|media_pad|&gt; &lt;|media_end|&gt; ...&lt;|im_end|&gt;
 * [&lt;|im_assistant|&gt;assistant&lt;|im_middle|&gt;]                                       with addGenerationPrompt
 * </pre>
 * Thread-safe: immutable after construction.
 */
public final class KimiChatTemplate {

    public static final String DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant";
    public static final List<String> ROLES = List.of("system", "user", "assistant");

    private final TiktokenTokenizer tokenizer;
    private final int[] roleTokens;     // by index in ROLES
    private final int[][] roleNames;    // encode(role), by index in ROLES
    private final int middle;
    private final int end;
    private final int mediaStart;
    private final int mediaContent;
    private final int mediaPad;
    private final int mediaEnd;
    private final int[] imageWord;
    private final int[] defaultSystemPrompt;

    /** Looks every special token up now, so a tokenizer that lacks one fails at start-up, naming what it has. */
    public KimiChatTemplate(TiktokenTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.roleTokens = new int[]{
                tokenizer.specialId("<|im_system|>"),
                tokenizer.specialId("<|im_user|>"),
                tokenizer.specialId("<|im_assistant|>")};
        this.roleNames = ROLES.stream().map(tokenizer::encode).toArray(int[][]::new);
        this.middle = tokenizer.specialId("<|im_middle|>");
        this.end = tokenizer.specialId("<|im_end|>");
        this.mediaStart = tokenizer.specialId("<|media_start|>");
        this.mediaContent = tokenizer.specialId("<|media_content|>");
        this.mediaPad = tokenizer.specialId("<|media_pad|>");
        this.mediaEnd = tokenizer.specialId("<|media_end|>");
        this.imageWord = tokenizer.encode("image");
        this.defaultSystemPrompt = tokenizer.encode(DEFAULT_SYSTEM_PROMPT);
    }

    /**
     * @param imageTokenCounts for each image part, in order, how many placeholder tokens its features fill
     *                         (h*w/4 for Kimi-VL); must have one entry per image part
     */
    public int[] render(List<ChatMessage> messages, List<Integer> imageTokenCounts, boolean addGenerationPrompt) {
        if (messages.isEmpty()) {
            throw GlimpseException.invalid("invalid_messages", "messages", "messages must not be empty");
        }
        int imageParts = countImageParts(messages);
        if (imageParts != imageTokenCounts.size()) {
            throw GlimpseException.invalid("image_count_mismatch", "messages",
                    "the messages have " + imageParts + " image parts but " + imageTokenCounts.size() + " images were given");
        }
        IntStream.Builder out = IntStream.builder();
        if (!messages.get(0).role().equals("system")) {
            appendTurnStart(out, 0);
            add(out, defaultSystemPrompt);
            out.add(end);
        }
        int image = 0;
        for (int m = 0; m < messages.size(); m++) {
            ChatMessage message = messages.get(m);
            int role = ROLES.indexOf(message.role());
            if (role < 0) {
                throw GlimpseException.invalid("invalid_role", "messages[" + m + "].role",
                        "role \"" + message.role() + "\" is not one of " + ROLES);
            }
            appendTurnStart(out, role);
            // Adjacent text parts form one string, as the Hugging Face template concatenates them before tokenizing.
            StringBuilder text = new StringBuilder();
            for (ContentPart part : message.parts()) {
                if (part instanceof TextPart t) {
                    text.append(t.text());
                } else if (part instanceof ImagePart img) {
                    if (img.index() != image) {
                        throw GlimpseException.invalid("image_out_of_order", "messages[" + m + "].content",
                                "image part refers to image " + img.index() + " where image " + image + " comes next");
                    }
                    appendText(out, text);
                    appendImage(out, imageTokenCounts.get(image));
                    image++;
                }
            }
            appendText(out, text);
            out.add(end);
        }
        if (addGenerationPrompt) {
            appendTurnStart(out, ROLES.indexOf("assistant"));
        }
        return out.build().toArray();
    }

    /** {@code <|im_end|>}: generation stops when the model emits it. */
    public int stopTokenId() {
        return end;
    }

    /** {@code <|media_pad|>}: the positions whose embeddings are replaced by image features, in order. */
    public int placeholderTokenId() {
        return mediaPad;
    }

    public TiktokenTokenizer tokenizer() {
        return tokenizer;
    }

    private static int countImageParts(List<ChatMessage> messages) {
        int n = 0;
        for (ChatMessage message : messages) {
            for (ContentPart part : message.parts()) {
                if (part instanceof ImagePart) {
                    n++;
                }
            }
        }
        return n;
    }

    private void appendTurnStart(IntStream.Builder out, int role) {
        out.add(roleTokens[role]);
        add(out, roleNames[role]);
        out.add(middle);
    }

    private void appendText(IntStream.Builder out, StringBuilder text) {
        if (!text.isEmpty()) {
            add(out, tokenizer.encode(text.toString()));
            text.setLength(0);
        }
    }

    private void appendImage(IntStream.Builder out, Integer count) {
        if (count == null || count <= 0) {
            throw new IllegalArgumentException("image token count must be positive, got " + count);
        }
        out.add(mediaStart);
        add(out, imageWord);
        out.add(mediaContent);
        for (int i = 0; i < count; i++) {
            out.add(mediaPad);
        }
        out.add(mediaEnd);
    }

    private static void add(IntStream.Builder out, int[] ids) {
        for (int id : ids) {
            out.add(id);
        }
    }
}
