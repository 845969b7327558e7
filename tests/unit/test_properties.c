/*
 * test_properties.c - server.properties read as java.util.Properties.load
 * reads it: line ends (\n, \r, \r\n), continuation lines, comments, the
 * three key terminators, escapes, \uXXXX to UTF-8, repeated keys, lines far
 * longer than any buffer, and the malformed input Properties refuses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config/properties.h"

/* Parse len bytes of text (which may hold NULs); the caller frees props. */
static int parse_bytes(const char *text, size_t len, struct properties *props, struct properties_error *err)
{
    *props = (struct properties){0};
    FILE *in = fmemopen((void *)text, len, "r");
    if (!in)
        return -2;
    int rc = properties_parse(in, props, err);
    fclose(in);
    return rc;
}

static int parse(const char *text, struct properties *props, struct properties_error *err)
{
    return parse_bytes(text, strlen(text), props, err);
}

/* text parses to exactly the pairs in expected (key, value, line; NULL key ends). */
struct expected {
    const char *key, *value;
    int line;
};

static void expect_pairs(const char *label, const char *text, const struct expected *expected)
{
    struct properties props;
    struct properties_error err;
    int rc = parse(text, &props, &err);
    CHECK(rc == 0, "%s: parse failed at line %d: %s", label, err.line, err.reason ? err.reason : "?");
    size_t n = 0;
    for (; expected[n].key; n++) {
        if (n >= props.count)
            break;
        const struct property *p = &props.items[n];
        CHECK(strcmp(p->key, expected[n].key) == 0, "%s: pair %zu key '%s', expected '%s'", label, n, p->key,
              expected[n].key);
        CHECK(strcmp(p->value, expected[n].value) == 0, "%s: pair %zu value '%s', expected '%s'", label, n,
              p->value, expected[n].value);
        CHECK(p->line == expected[n].line, "%s: pair %zu line %d, expected %d", label, n, p->line,
              expected[n].line);
    }
    while (expected[n].key)
        n++;
    CHECK(props.count == n, "%s: %zu pairs, expected %zu", label, props.count, n);
    properties_free(&props);
}

static void expect_error(const char *label, const char *text, size_t len, int line)
{
    struct properties props;
    struct properties_error err;
    int rc = parse_bytes(text, len, &props, &err);
    CHECK(rc == -1 && err.reason, "%s: accepted", label);
    CHECK(err.line == line, "%s: error at line %d, expected %d", label, err.line, line);
    properties_free(&props);
}

static void test_separators_and_blanks(void)
{
    expect_pairs("separators",
                 "a=1\n"
                 "b: 2\n"
                 "c 3\n"
                 "  d\t=\t4\n"
                 "e \f: 5\n"
                 "f==6\n"
                 "g = : 7\n"
                 "h\n"
                 "i=\n"
                 "j   \n"
                 "k=trailing blanks stay  \n",
                 (const struct expected[]){{"a", "1", 1},
                                           {"b", "2", 2},
                                           {"c", "3", 3},
                                           {"d", "4", 4},
                                           {"e", "5", 5},
                                           {"f", "=6", 6},
                                           {"g", ": 7", 7},
                                           {"h", "", 8},
                                           {"i", "", 9},
                                           {"j", "", 10},
                                           {"k", "trailing blanks stay  ", 11},
                                           {NULL, NULL, 0}});
}

static void test_comments_and_line_ends(void)
{
    expect_pairs("comments",
                 "# comment\n"
                 "! comment\n"
                 "   # indented comment\n"
                 "\n"
                 "  \t \n"
                 "# a comment does not continue \\\n"
                 "a=1 # not a comment\n"
                 "b=#value\n",
                 (const struct expected[]){{"a", "1 # not a comment", 7}, {"b", "#value", 8}, {NULL, NULL, 0}});
    expect_pairs("line ends", "a=1\r\nb=2\rc=3\n\r\nd=4",
                 (const struct expected[]){{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}, {"d", "4", 5}, {NULL, NULL, 0}});
}

static void test_continuation(void)
{
    expect_pairs("continuation",
                 "log.dirs=/a,\\\n"
                 "         /b,\\\n"
                 "\t/c\n"
                 "map=PLAINTEXT:PLAINTEXT,\\\r\n"
                 "  CONTROLLER:PLAINTEXT\r\n"
                 "even=x\\\\\n"
                 "odd=x\\\\\\\n"
                 "  y\n"
                 "key\\\n"
                 "  part=v\n"
                 "hash=a\\\n"
                 "  #b\n"
                 "empty=a\\\n"
                 "\n"
                 "after=1\n"
                 "eof=z\\",
                 (const struct expected[]){{"log.dirs", "/a,/b,/c", 1},
                                           {"map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", 4},
                                           {"even", "x\\", 6},
                                           {"odd", "x\\y", 7},
                                           {"keypart", "v", 9},
                                           {"hash", "a#b", 11},
                                           {"empty", "a", 13},
                                           {"after", "1", 15},
                                           {"eof", "z", 16},
                                           {NULL, NULL, 0}});
}

static void test_escapes(void)
{
    expect_pairs("escapes",
                 "tabs=a\\tb\\nc\\rd\\fe\n"
                 "other=\\q\\\\\\=\\:\\ \\#\n"
                 "a\\=b\\:c\\ d=v\n"
                 "\\ lead=\\ \\ x\n"
                 "u=\\u0030\\u00e9\\u20AC\n"
                 "pair=\\uD83D\\uDE00\n"
                 "lone=\\uD83Dx\n"
                 "ms=1000\\u0030\n",
                 (const struct expected[]){{"tabs", "a\tb\nc\rd\fe", 1},
                                           {"other", "q\\=: #", 2},
                                           {"a=b:c d", "v", 3},
                                           {" lead", "  x", 4},
                                           {"u", "0\xC3\xA9\xE2\x82\xAC", 5},
                                           {"pair", "\xF0\x9F\x98\x80", 6},
                                           {"lone", "\xEF\xBF\xBDx", 7},
                                           {"ms", "10000", 8},
                                           {NULL, NULL, 0}});
    expect_error("short \\u", "a=1\nb=\\u12\n", 11, 2);
    expect_error("non-hex \\u", "a=\\u00g0\n", 9, 1);
    expect_error("\\u0000", "a=x\\u0000\n", 10, 1);
    expect_error("raw NUL", "a=1\nb=x\0y\n", 10, 2);
}

static void test_repeated_keys(void)
{
    struct properties props;
    struct properties_error err;
    CHECK(parse("a=1\nb=2\na=3\n", &props, &err) == 0, "repeated keys: parse failed");
    CHECK(props.count == 3, "repeated keys: %zu pairs", props.count);
    CHECK(!properties_is_last(&props, 0), "first a is overridden");
    CHECK(properties_is_last(&props, 1), "b is the last b");
    CHECK(properties_is_last(&props, 2), "second a is the last a");
    properties_free(&props);
}

static void test_long_lines(void)
{
    size_t big = 200000;
    char *text = malloc(3 * big + 100);
    if (!text) {
        failures++;
        return;
    }
    size_t len = 0;
    text[len++] = '#';
    memset(text + len, 'c', big), len += big;
    text[len++] = '\n';
    memset(text + len, 'k', big), len += big;
    len += (size_t)sprintf(text + len, "=1\nshort");
    memset(text + len, ' ', big), len += big;
    len += (size_t)sprintf(text + len, "= 2\n");
    struct properties props;
    struct properties_error err;
    CHECK(parse_bytes(text, len, &props, &err) == 0, "long lines: parse failed");
    CHECK(props.count == 2, "long lines: %zu pairs", props.count);
    if (props.count == 2) {
        CHECK(strlen(props.items[0].key) == big && props.items[0].line == 2, "long key: %zu bytes, line %d",
              strlen(props.items[0].key), props.items[0].line);
        CHECK(strcmp(props.items[1].key, "short") == 0 && strcmp(props.items[1].value, "2") == 0 &&
                  props.items[1].line == 3,
              "long blanks: '%s'='%s' line %d", props.items[1].key, props.items[1].value, props.items[1].line);
    }
    properties_free(&props);
    free(text);
}

static void test_empty_input(void)
{
    expect_pairs("empty", "", (const struct expected[]){{NULL, NULL, 0}});
    expect_pairs("only comments", "# a\n! b\n\n", (const struct expected[]){{NULL, NULL, 0}});
    /* As in Java's LineReader, a line of only a backslash joins nothing, so
     * the next line may still be blank or a comment. */
    expect_pairs("lone backslashes", "\\\n\n  \\\n# comment\nb=1\n\\",
                 (const struct expected[]){{"b", "1", 5}, {NULL, NULL, 0}});
}

int main(void)
{
    test_separators_and_blanks();
    test_comments_and_line_ends();
    test_continuation();
    test_escapes();
    test_repeated_keys();
    test_long_lines();
    test_empty_input();
    printf("properties: %s\n", failures ? "FAILED" : "all cases as java.util.Properties.load");
    return failures ? 1 : 0;
}
