/*
 * tool_util.c - clocks, log lines, strings and topic patterns for the tools.
 */
#include "common/tool_util.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void out_of_memory(void)
{
    fprintf(stderr, "out of memory\n");
    exit(1);
}

int64_t tool_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tool_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tool_mono_ms(void)
{
    return tool_mono_us() / 1000;
}

void tool_on_interrupt(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: interrupt blocking reads */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void tool_format_time(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "%s:%03d", date, (int)(ms % 1000));
}

void tool_log(const char *level, const char *fmt, ...)
{
    int64_t now = tool_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "[%s,%03d] %s ", date, (int)(now % 1000), level);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void tool_strlist_add_len(struct tool_strlist *l, const char *s, size_t len)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **grown = realloc(l->items, cap * sizeof(*grown));
        if (!grown)
            out_of_memory();
        l->items = grown;
        l->cap = cap;
    }
    char *copy = strndup(s, len);
    if (!copy)
        out_of_memory();
    l->items[l->count++] = copy;
}

void tool_strlist_add(struct tool_strlist *l, const char *s)
{
    tool_strlist_add_len(l, s, strlen(s));
}

bool tool_strlist_contains(const struct tool_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tool_strlist_sort(struct tool_strlist *l)
{
    if (l->count > 1)
        qsort(l->items, l->count, sizeof(*l->items), compare_strings);
}

void tool_strlist_free(struct tool_strlist *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

void tool_split(const char *s, char sep, struct tool_strlist *out)
{
    int depth = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == '[')
            depth++;
        else if (*p == ']' && depth > 0)
            depth--;
        if (*p != '\0' && (*p != sep || depth > 0))
            continue;
        const char *a = start, *b = p;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            tool_strlist_add_len(out, a, (size_t)(b - a));
        if (*p == '\0')
            break;
        start = p + 1;
    }
}

bool tool_split_kv(const char *kv, char *key, size_t key_len, const char **value)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= key_len)
        return false;
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    *value = eq + 1;
    return true;
}

bool tool_property_is_true(const char *value)
{
    while (isspace((unsigned char)*value))
        value++;
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1]))
        len--;
    return len == 4 && strncasecmp(value, "true", 4) == 0;
}

bool tool_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = n;
    return true;
}

/*
 * Java regexes to POSIX extended ones for the shorthands users type in topic
 * patterns (\d, \w, \s and their negations); everything else is shared.
 */
static char *java_regex_to_posix(const char *pattern)
{
    static const struct {
        char escape;
        const char *posix;
    } classes[] = {{'d', "[0-9]"}, {'D', "[^0-9]"}, {'w', "[A-Za-z0-9_]"}, {'W', "[^A-Za-z0-9_]"},
                   {'s', "[[:space:]]"}, {'S', "[^[:space:]]"}};
    size_t cap = strlen(pattern) * 14 + 8;
    char *out = malloc(cap);
    if (!out)
        out_of_memory();
    size_t n = 0;
    n += (size_t)snprintf(out + n, cap - n, "^(");
    for (const char *p = pattern; *p; p++) {
        const char *replacement = NULL;
        if (p[0] == '\\' && p[1]) {
            for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
                if (p[1] == classes[i].escape)
                    replacement = classes[i].posix;
        }
        if (replacement) {
            n += (size_t)snprintf(out + n, cap - n, "%s", replacement);
            p++;
        } else if (p[0] == '\\' && p[1]) {
            out[n++] = *p++;
            out[n++] = *p;
        } else {
            out[n++] = *p;
        }
    }
    snprintf(out + n, cap - n, ")$");
    return out;
}

char *tool_topic_filter(const char *pattern)
{
    char *out = malloc(strlen(pattern) + 1);
    if (!out)
        out_of_memory();
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        if (*p == ' ')
            continue;
        out[n++] = *p == ',' ? '|' : *p;
    }
    out[n] = '\0';
    size_t start = strspn(out, "\"'");
    while (n > start && (out[n - 1] == '"' || out[n - 1] == '\''))
        n--;
    memmove(out, out + start, n - start);
    out[n - start] = '\0';
    return out;
}

int tool_topic_matches(const char *pattern, const char *topic)
{
    char *filter = tool_topic_filter(pattern);
    char *anchored = java_regex_to_posix(filter);
    free(filter);
    regex_t re;
    int rc = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0)
        return -1;
    int matched = regexec(&re, topic, 0, NULL, 0) == 0;
    regfree(&re);
    return matched;
}

bool tool_topic_is_internal(const char *topic)
{
    return strcmp(topic, "__consumer_offsets") == 0 || strcmp(topic, "__transaction_state") == 0;
}

char *tool_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        out_of_memory();
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                out_of_memory();
            buf = grown;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}
