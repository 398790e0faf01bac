package dev.glimpse.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of token ids into text as it is generated. A byte-level BPE token may end in the middle of a character
 * ("中" is three bytes, an emoji four, often split over several tokens), so bytes are held back until they complete a
 * character: a streamed chunk never carries half a character or a premature U+FFFD.
 *
 * <p>Decoding is the JDK's streaming UTF-8 decoder with replacement, which reports the same malformed sequences as
 * {@code new String(bytes, UTF_8)}: the pushes plus {@link #flush} always equal {@link TiktokenTokenizer#decode} of the same
 * ids. Bytes that can never become valid (0xFF, a lead byte followed by ASCII) come out as U+FFFD as soon as that is
 * certain; an incomplete tail waits for {@link #flush}.
 *
 * <p>One per sequence; not thread-safe.
 */
public final class IncrementalDetokenizer {

    private final TokenBytes tokenizer;
    private final boolean skipSpecials;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private byte[] pending = new byte[16];
    private int pendingLength;

    /** Skips special tokens: their names are control, not text for the client. */
    public IncrementalDetokenizer(TokenBytes tokenizer) {
        this(tokenizer, true);
    }

    /** With skipSpecials false, a special token contributes its name. */
    public IncrementalDetokenizer(TokenBytes tokenizer, boolean skipSpecials) {
        this.tokenizer = tokenizer;
        this.skipSpecials = skipSpecials;
    }

    /** Adds one token; returns the text it completes (possibly empty). */
    public String push(int tokenId) {
        byte[] bytes = tokenizer.bytesOf(tokenId);
        if (skipSpecials && tokenizer.isSpecial(tokenId)) {
            return "";
        }
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        return decode(false);
    }

    /** Emits whatever is held back (an incomplete character becomes U+FFFD) and starts afresh. */
    public String flush() {
        String rest = decode(true);
        decoder.reset();
        return rest;
    }

    private String decode(boolean endOfInput) {
        ByteBuffer in = ByteBuffer.wrap(pending, 0, pendingLength);
        // UTF-8 never gives more chars than bytes (a 4-byte character is 2 chars; a replaced byte is 1 char).
        CharBuffer out = CharBuffer.allocate(pendingLength + 1);
        CoderResult result = decoder.decode(in, out, endOfInput);
        if (endOfInput && result.isUnderflow()) {
            result = decoder.flush(out);
        }
        if (result.isError() || result.isOverflow()) {
            throw new IllegalStateException("UTF-8 decoder reported " + result);
        }
        // Keep the incomplete tail (at most 3 bytes) for the next token.
        int left = in.remaining();
        System.arraycopy(pending, in.position(), pending, 0, left);
        pendingLength = left;
        return out.flip().toString();
    }
}
