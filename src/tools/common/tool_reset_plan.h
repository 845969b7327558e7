/*
 * tool_reset_plan.h - the offset reset plans kafka-consumer-groups.sh writes
 * with --export and reads with --from-file (Kafka's CSV: one
 * "topic,partition,offset" or "group,topic,partition,offset" per line), and
 * the ISO-8601 durations of --by-duration.
 */
#ifndef EDDY_TOOLS_TOOL_RESET_PLAN_H
#define EDDY_TOOLS_TOOL_RESET_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tool_reset_entry {
    char *group;
    char *topic;
    int32_t partition;
    int64_t offset;
};

struct tool_reset_plan {
    struct tool_reset_entry *entries;
    size_t count;
};

/*
 * Parse a plan file. Lines of three fields belong to `single_group` (Kafka
 * reads them so when exactly one --group was given; pass NULL otherwise),
 * lines of four name their group. Blank lines are skipped. Returns 0, or -1
 * with a message naming the file and line in `error`.
 */
int tool_reset_plan_parse(const char *text, const char *path, const char *single_group,
                          struct tool_reset_plan *plan, char *error, size_t error_len);
void tool_reset_plan_free(struct tool_reset_plan *plan);

/* One CSV line of a plan: without the group column when `group` is NULL. */
void tool_reset_plan_write(FILE *out, const char *group, const char *topic, int32_t partition,
                           int64_t offset);

/*
 * java.time.Duration.parse: [+-]P[nD][T[nH][nM][n[.f]S]], each number
 * optionally signed, letters in either case, at least one part. The
 * duration in milliseconds in *ms; false if the text is not one.
 */
bool tool_parse_duration_ms(const char *text, int64_t *ms);

#endif
