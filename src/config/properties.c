/*
 * properties.c - java.util.Properties' text format (see properties.h).
 *
 * Three layers: natural lines out of getline's chunks (which end only at
 * \n, so a lone \r is split here), logical lines joined from them, and each
 * logical line split into a key and a value that are then unescaped.
 */
#include "config/properties.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A growable byte buffer; data is owned. */
struct buffer {
    char *data;
    size_t len, cap;
};

static int buffer_append(struct buffer *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

struct line_reader {
    FILE *in;
    char *chunk; /* getline's buffer, owned */
    size_t chunk_cap;
    size_t chunk_len, pos; /* bytes read into chunk; next one not handed out */
    int line;              /* natural lines handed out so far */
};

/* The next natural line, without its terminator (\n, \r or \r\n), pointing
 * into the reader's buffer until the next call. 1, 0 at the end, -1 on error. */
static int next_natural_line(struct line_reader *r, const char **start, size_t *len)
{
    if (r->pos >= r->chunk_len) {
        errno = 0;
        ssize_t n = getline(&r->chunk, &r->chunk_cap, r->in);
        if (n < 0)
            return ferror(r->in) || errno == ENOMEM ? -1 : 0;
        r->chunk_len = (size_t)n;
        r->pos = 0;
    }
    const char *s = r->chunk + r->pos;
    size_t avail = r->chunk_len - r->pos, n = 0;
    while (n < avail && s[n] != '\n' && s[n] != '\r')
        n++;
    size_t terminator = n == avail ? 0 : (s[n] == '\r' && n + 1 < avail && s[n + 1] == '\n') ? 2 : 1;
    r->pos += n + terminator;
    r->line++;
    *start = s;
    *len = n;
    return 1;
}

/* Whether no natural line follows; -1 (a read error) counts as the end here
 * and is seen again by the next read. */
static bool at_end(struct line_reader *r)
{
    if (r->pos < r->chunk_len)
        return false;
    int c = getc(r->in);
    if (c == EOF)
        return true;
    ungetc(c, r->in);
    return false;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static size_t leading_blanks(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_blank(s[i]))
        i++;
    return i;
}

/* An odd run of backslashes at the end escapes the line terminator. */
static bool ends_in_continuation(const char *s, size_t n)
{
    size_t backslashes = 0;
    while (backslashes < n && s[n - 1 - backslashes] == '\\')
        backslashes++;
    return backslashes % 2 == 1;
}

/*
 * The next logical line into out (reset first); *first_line is where its key
 * starts. 1, 0 at the end, -1 on error. As in Java's LineReader, a line is
 * blank or a comment only while the logical line is still empty, so a line of
 * just a backslash leaves the next one free to be either. (When such a line
 * ends the file, Java yields an empty key, or not, depending on its line end;
 * Kafka ignores that key, and so no line is given here.)
 */
static int next_logical_line(struct line_reader *r, struct buffer *out, int *first_line)
{
    out->len = 0;
    for (;;) {
        const char *s;
        size_t n;
        int rc = next_natural_line(r, &s, &n);
        if (rc <= 0)
            return rc;
        size_t skip = leading_blanks(s, n);
        s += skip, n -= skip;
        if (out->len == 0) {
            if (n == 0 || s[0] == '#' || s[0] == '!')
                continue;
            *first_line = r->line;
        }
        bool continued = ends_in_continuation(s, n);
        if (buffer_append(out, s, continued ? n - 1 : n) < 0)
            return -1;
        if (!continued)
            return 1;
        if (at_end(r))
            return out->len > 0; /* the backslash before the end of the file is dropped */
    }
}

/* Where the key ends and the value starts in a logical line. */
static void split_key_value(const char *s, size_t n, size_t *key_len, size_t *value_start)
{
    size_t i = 0;
    bool escaped = false;
    for (; i < n; i++) {
        char c = s[i];
        if (!escaped && (c == '=' || c == ':' || is_blank(c)))
            break;
        escaped = c == '\\' && !escaped;
    }
    *key_len = i;
    i += leading_blanks(s + i, n - i);
    if (i < n && (s[i] == '=' || s[i] == ':'))
        i++;
    i += leading_blanks(s + i, n - i);
    *value_start = i;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The four hex digits of a \uXXXX escape whose 'u' is at s[0]; -1 if malformed. */
static long read_u_escape(const char *s, size_t n)
{
    if (n < 5)
        return -1;
    long unit = 0;
    for (size_t i = 1; i <= 4; i++) {
        int digit = hex_value(s[i]);
        if (digit < 0)
            return -1;
        unit = unit * 16 + digit;
    }
    return unit;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Decode the \uXXXX escape at s[0] == 'u' (and a low surrogate escape after a
 * high one, since Java strings are UTF-16) into out. Returns the input bytes
 * used, or 0 if malformed or NUL. Never writes more bytes than it consumes.
 */
static size_t decode_u_escape(const char *s, size_t n, char *out, size_t *written)
{
    long unit = read_u_escape(s, n);
    if (unit <= 0)
        return 0;
    if (unit < 0xD800 || unit > 0xDFFF) {
        *written = put_utf8(out, (uint32_t)unit);
        return 5;
    }
    long low = n >= 7 && s[5] == '\\' && s[6] == 'u' ? read_u_escape(s + 6, n - 6) : -1;
    if (unit <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
        uint32_t cp = 0x10000 + (((uint32_t)unit - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
        *written = put_utf8(out, cp);
        return 11;
    }
    *written = put_utf8(out, 0xFFFD); /* a lone surrogate has no UTF-8 form */
    return 5;
}

static char simple_escape(char c)
{
    switch (c) {
    case 't':
        return '\t';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    default:
        return c;
    }
}

/* The unescaped, NUL-terminated copy of s[0..n) (caller frees), or NULL with
 * *reason set. Unescaping never lengthens the text, so n + 1 bytes suffice. */
static char *unescape(const char *s, size_t n, const char **reason)
{
    char *out = malloc(n + 1);
    if (!out)
        return *reason = "out of memory", NULL;
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i++];
        if (c == '\0')
            return free(out), *reason = "NUL character in a key or value", NULL;
        if (c != '\\' || i == n) { /* a lone final backslash cannot occur: see next_logical_line */
            out[len++] = c;
            continue;
        }
        if (s[i] == '\0')
            return free(out), *reason = "NUL character in a key or value", NULL;
        if (s[i] != 'u') {
            out[len++] = simple_escape(s[i++]);
            continue;
        }
        size_t written = 0, used = decode_u_escape(s + i, n - i, out + len, &written);
        if (used == 0)
            return free(out), *reason = "malformed \\uXXXX escape (or \\u0000)", NULL;
        i += used;
        len += written;
    }
    out[len] = '\0';
    return out;
}

static int add_property(struct properties *props, char *key, char *value, int line)
{
    if (props->count == props->capacity) {
        size_t cap = props->capacity ? props->capacity * 2 : 32;
        struct property *grown = realloc(props->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        props->items = grown;
        props->capacity = cap;
    }
    props->items[props->count++] = (struct property){.key = key, .value = value, .line = line};
    return 0;
}

/* Split and unescape one logical line and append it to props. */
static int parse_logical_line(const struct buffer *line, int lineno, struct properties *props,
                              struct properties_error *err)
{
    size_t key_len, value_start;
    split_key_value(line->data, line->len, &key_len, &value_start);
    const char *reason = NULL;
    char *key = unescape(line->data, key_len, &reason);
    char *value = key ? unescape(line->data + value_start, line->len - value_start, &reason) : NULL;
    if (value && add_property(props, key, value, lineno) == 0)
        return 0;
    free(key);
    free(value);
    *err = (struct properties_error){.line = lineno, .reason = reason ? reason : "out of memory"};
    return -1;
}

int properties_parse(FILE *in, struct properties *out, struct properties_error *err)
{
    struct line_reader reader = {.in = in};
    struct buffer logical = {0};
    int lineno = 0, rc;
    *err = (struct properties_error){0};
    while ((rc = next_logical_line(&reader, &logical, &lineno)) > 0)
        if (parse_logical_line(&logical, lineno, out, err) < 0)
            break;
    if (rc < 0)
        *err = (struct properties_error){.line = reader.line, .reason = "read error or out of memory"};
    free(reader.chunk);
    free(logical.data);
    return err->reason ? -1 : 0;
}

bool properties_is_last(const struct properties *props, size_t index)
{
    for (size_t i = index + 1; i < props->count; i++)
        if (strcmp(props->items[i].key, props->items[index].key) == 0)
            return false;
    return true;
}

void properties_free(struct properties *props)
{
    for (size_t i = 0; i < props->count; i++) {
        free(props->items[i].key);
        free(props->items[i].value);
    }
    free(props->items);
    *props = (struct properties){0};
}
