/*
 * tool_util.h - small helpers shared by the command-line tools: Kafka-style
 * log lines, clocks, string splitting, topic regex matching, and a growable
 * string list.
 */
#ifndef EDDY_TOOLS_TOOL_UTIL_H
#define EDDY_TOOLS_TOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds: wall clock (for timestamps) and monotonic (for durations). */
int64_t tool_wall_ms(void);
int64_t tool_mono_ms(void);
int64_t tool_mono_us(void);

/*
 * Call handler on SIGINT and SIGTERM without SA_RESTART, so a blocking read
 * (the console producer waiting on stdin) returns EINTR and the tool can
 * stop, as Kafka's shutdown hook does, instead of silently reading on.
 */
void tool_on_interrupt(void (*handler)(int));

/* "[2024-01-02 03:04:05,678] LEVEL message" on stderr, as Kafka's log4j layout. */
void tool_log(const char *level, const char *fmt, ...);
/* Format ms since the epoch as local "yyyy-MM-dd HH:mm:ss:SSS" into buf. */
void tool_format_time(int64_t ms, char *buf, size_t len);

/* A list of owned strings. */
struct tool_strlist {
    char **items;
    size_t count;
    size_t cap;
};
void tool_strlist_add(struct tool_strlist *l, const char *s);
void tool_strlist_add_len(struct tool_strlist *l, const char *s, size_t len);
bool tool_strlist_contains(const struct tool_strlist *l, const char *s);
void tool_strlist_sort(struct tool_strlist *l);
void tool_strlist_free(struct tool_strlist *l);

/*
 * Split on `sep`, trimming spaces; a comma inside [...] does not split
 * (Kafka's config syntax "k=[a,b]"). Empty items are dropped.
 */
void tool_split(const char *s, char sep, struct tool_strlist *out);

/* Split "k=v" at the first '='. Returns false if there is none or k is empty. */
bool tool_split_kv(const char *kv, char *key, size_t key_len, const char **value);

/*
 * A Java-style boolean property value: true only for "true" in any case,
 * ignoring surrounding spaces (Kafka's trim().equalsIgnoreCase("true")).
 */
bool tool_property_is_true(const char *value);

/* true if s is a whole decimal integer (optionally negative); *out gets it. */
bool tool_parse_int64(const char *s, int64_t *out);

/*
 * A topic pattern as Kafka's TopicFilter reads it: commas become '|' (so
 * "a,b" names two topics), spaces and leading/trailing quotes are dropped.
 * Returns a malloc'ed string.
 */
char *tool_topic_filter(const char *pattern);

/*
 * Topic selection as Kafka's tools do it: a pattern (read by
 * tool_topic_filter) matches a name if the whole name matches it as an
 * (extended) regular expression. Returns -1 if the pattern does not compile.
 */
int tool_topic_matches(const char *pattern, const char *topic);
/* Names Kafka treats as internal topics. */
bool tool_topic_is_internal(const char *topic);

/* Read a whole file (NUL-terminated). Returns NULL and sets errno on failure. */
char *tool_read_file(const char *path, size_t *len_out);

#endif
