/*
 * properties.h - reading a file in java.util.Properties' text format, the
 * format of Kafka's server.properties (Kafka reads it with Properties.load).
 *
 * The rules, as Properties.load documents them:
 * - Natural lines end with \n, \r or \r\n. A natural line that ends with an
 *   odd number of backslashes goes on on the next one: that backslash, the
 *   line end and the next line's leading blanks (space, tab, form feed) are
 *   dropped. Together they make one logical line, of any length.
 * - Blank lines are skipped, and so are comment lines: # or ! as the first
 *   non-blank character of a logical line (a comment does not continue).
 * - The key runs from the first non-blank character to the first unescaped
 *   '=', ':' or blank; then blanks, at most one '=' or ':', and blanks more
 *   are skipped. The rest of the line, trailing blanks too, is the value.
 * - In key and value, \t \n \r \f and \uXXXX stand for those characters,
 *   and a backslash before any other character stands for that character.
 *
 * Differences, on purpose: \uXXXX comes out as UTF-8 (a surrogate pair as one
 * character, a lone surrogate as U+FFFD), and other bytes pass through as they
 * are, where Kafka's load(InputStream) reads the file as ISO 8859-1. A NUL
 * character, written or escaped, is refused: keys and values are C strings.
 * A file ending in a line of just a backslash gives no empty key (Java may
 * give one, which Kafka has no use for).
 */
#ifndef EDDY_CONFIG_PROPERTIES_H
#define EDDY_CONFIG_PROPERTIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct property {
    char *key;   /* owned by the list */
    char *value; /* owned by the list; "" when the line has only a key */
    int line;    /* natural line (from 1) where the logical line starts */
};

/* Every key-value pair of a file, in file order; a repeated key appears once
 * per line that sets it (Properties keeps the last: see properties_is_last). */
struct properties {
    struct property *items;
    size_t count, capacity;
};

struct properties_error {
    int line;           /* natural line where the trouble is; 0 if none */
    const char *reason; /* static text */
};

/*
 * Read in to its end into out (which the caller zeroes first; free it with
 * properties_free whatever the result). Returns 0, or -1 with *err saying why:
 * a malformed \uXXXX escape, a NUL character, a read error or no memory.
 */
int properties_parse(FILE *in, struct properties *out, struct properties_error *err);

/* Whether item index is the last one setting its key: the one Properties keeps. */
bool properties_is_last(const struct properties *props, size_t index);

void properties_free(struct properties *props);

#endif
