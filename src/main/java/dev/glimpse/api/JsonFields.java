package dev.glimpse.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.error.GlimpseException;

/**
 * Optional fields of an OpenAI-style JSON body, typed strictly: a wrong type is a 400 {@code invalid_type} naming the
 * field, never a silent coercion (2.5 for an integer, "yes" for a boolean); absent or null gives the default.
 */
final class JsonFields {

    private JsonFields() {}

    static boolean present(JsonNode body, String field) {
        JsonNode v = body.get(field);
        return v != null && !v.isNull();
    }

    static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw GlimpseException.invalid("invalid_type", field, field + " must be true or false");
        return v.asBoolean();
    }

    /** An integer field that must fit an int: 2.5, "3" or 4294967296 are rejected rather than truncated. */
    static int integer(JsonNode body, String field, int dflt) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw GlimpseException.invalid("invalid_type", field, field + " must be an integer (32-bit)");
        }
        return v.asInt();
    }

    static double number(JsonNode body, String field, double dflt) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw GlimpseException.invalid("invalid_type", field, field + " must be a number");
        return v.asDouble();
    }
}
