package dev.glimpse.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.function.Function;

/** OpenAI's cursor-page shape: {@code {"object": "list", "data", "first_id", "last_id", "has_more"}}. */
final class CursorPage {

    private CursorPage() {}

    /**
     * @param fetched up to {@code limit + 1} rows in page order: the extra row only says that there is a next page
     * @param id      the row's id (what a client passes back as {@code after})
     */
    static <T> ObjectNode render(ObjectMapper json, List<T> fetched, int limit, Function<T, String> id,
                                 Function<T, ObjectNode> render) {
        List<T> shown = fetched.size() > limit ? fetched.subList(0, limit) : fetched;
        ObjectNode root = json.createObjectNode().put("object", "list");
        ArrayNode data = root.putArray("data");
        shown.forEach(row -> data.add(render.apply(row)));
        if (shown.isEmpty()) {
            root.putNull("first_id");
            root.putNull("last_id");
        } else {
            root.put("first_id", id.apply(shown.get(0))).put("last_id", id.apply(shown.get(shown.size() - 1)));
        }
        root.put("has_more", fetched.size() > limit);
        return root;
    }
}
