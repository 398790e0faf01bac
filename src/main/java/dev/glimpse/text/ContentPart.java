package dev.glimpse.text;

/** A piece of a message's content; typed, so the template never guesses what a part is. */
public sealed interface ContentPart permits TextPart, ImagePart {
}
