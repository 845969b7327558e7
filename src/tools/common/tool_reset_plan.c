/*
 * tool_reset_plan.c - offset reset plans as CSV (see tool_reset_plan.h).
 *
 * Kafka writes plans with Jackson's CSV mapper, which quotes a field only
 * when it has to (a comma, a quote or a line break in it, quotes doubled),
 * so a plan Eddy exports reads back in Kafka's tool and the other way round.
 */
#include "common/tool_reset_plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_util.h"

/* Split one line into `fields`; false if a quote is left open or junk follows one. */
static bool csv_split(const char *line, size_t len, struct tool_strlist *fields)
{
    char *field = malloc(len + 1);
    size_t i = 0;
    bool ok = field != NULL;
    while (ok) {
        size_t n = 0;
        if (i < len && line[i] == '"') {
            for (i++; i < len && !(line[i] == '"' && (i + 1 >= len || line[i + 1] != '"')); i++) {
                if (line[i] == '"')
                    i++; /* a doubled quote stands for one */
                field[n++] = line[i];
            }
            ok = i < len && (i + 1 == len || line[i + 1] == ',');
            i++;
        } else {
            while (i < len && line[i] != ',')
                field[n++] = line[i++];
        }
        if (ok)
            tool_strlist_add_len(fields, field, n);
        if (i >= len)
            break;
        i++; /* the comma */
    }
    free(field);
    return ok;
}

/* Trimmed, as Kafka's reader takes numbers. */
static bool parse_number(const char *s, int64_t min, int64_t max, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    char copy[32];
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof copy)
        return false;
    memcpy(copy, s, n);
    copy[n] = '\0';
    int64_t v;
    if (!tool_parse_int64(copy, &v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int add_entry(struct tool_reset_plan *plan, const char *group, const char *topic, int64_t partition,
                     int64_t offset)
{
    struct tool_reset_entry *grown = realloc(plan->entries, (plan->count + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    plan->entries = grown;
    struct tool_reset_entry *e = &plan->entries[plan->count];
    e->group = strdup(group);
    e->topic = strdup(topic);
    e->partition = (int32_t)partition;
    e->offset = offset;
    if (!e->group || !e->topic) {
        free(e->group);
        free(e->topic);
        return -1;
    }
    plan->count++;
    return 0;
}

/* One line into the plan; false if it is not a plan line. */
static bool parse_line(const char *line, size_t len, const char *single_group, struct tool_reset_plan *plan)
{
    struct tool_strlist fields = {0};
    bool ok = csv_split(line, len, &fields) && ((fields.count == 3 && single_group) || fields.count == 4);
    int64_t partition, offset;
    if (ok) {
        char **f = fields.items + (fields.count == 4); /* from the topic's column */
        ok = parse_number(f[1], 0, INT32_MAX, &partition) && parse_number(f[2], INT64_MIN, INT64_MAX, &offset) &&
             add_entry(plan, fields.count == 4 ? fields.items[0] : single_group, f[0], partition, offset) == 0;
    }
    tool_strlist_free(&fields);
    return ok;
}

int tool_reset_plan_parse(const char *text, const char *path, const char *single_group,
                          struct tool_reset_plan *plan, char *error, size_t error_len)
{
    memset(plan, 0, sizeof *plan);
    int line_number = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        line_number++;
        size_t content = len;
        if (content > 0 && line[content - 1] == '\r')
            content--;
        if (content > 0 && !parse_line(line, content, single_group, plan)) {
            snprintf(error, error_len, "line %d of %s is not '%s'", line_number, path,
                     single_group ? "topic,partition,offset' or 'group,topic,partition,offset"
                                  : "group,topic,partition,offset");
            tool_reset_plan_free(plan);
            return -1;
        }
        line += len + (end ? 1 : 0);
    }
    return 0;
}

void tool_reset_plan_free(struct tool_reset_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->entries[i].group);
        free(plan->entries[i].topic);
    }
    free(plan->entries);
    plan->entries = NULL;
    plan->count = 0;
}

static void write_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void tool_reset_plan_write(FILE *out, const char *group, const char *topic, int32_t partition,
                           int64_t offset)
{
    if (group) {
        write_field(out, group);
        fputc(',', out);
    }
    write_field(out, topic);
    fprintf(out, ",%d,%lld\n", (int)partition, (long long)offset);
}

/* A signed whole number of digits at *s; false if none or too large. */
static bool read_whole(const char **s, int64_t *out)
{
    int64_t sign = 1;
    if (**s == '+' || **s == '-')
        sign = *(*s)++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)**s))
        return false;
    int64_t v = 0;
    while (isdigit((unsigned char)**s)) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (*(*s)++ - '0');
    }
    *out = sign * v;
    return true;
}

/* The milliseconds of a fraction after '.' or ',' (up to nine digits, as Java takes). */
static bool read_fraction_ms(const char **s, int64_t *ms)
{
    int digits = 0;
    *ms = 0;
    while (isdigit((unsigned char)**s)) {
        if (digits < 3)
            *ms = *ms * 10 + (**s - '0');
        digits++;
        (*s)++;
    }
    if (digits == 0 || digits > 9)
        return false;
    for (int d = digits; d < 3; d++)
        *ms *= 10;
    return true;
}

bool tool_parse_duration_ms(const char *text, int64_t *ms)
{
    static const struct {
        char unit;
        bool time_part;
        int64_t ms;
    } units[] = {{'D', false, 86400000}, {'H', true, 3600000}, {'M', true, 60000}, {'S', true, 1000}};
    const char *s = text;
    int64_t sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (toupper((unsigned char)*s++) != 'P')
        return false;
    size_t next_unit = 0; /* parts come in the order of units[] */
    bool time_part = false, any = false;
    int64_t total = 0;
    while (*s) {
        if (toupper((unsigned char)*s) == 'T') {
            if (time_part || !s[1])
                return false;
            time_part = true;
            s++;
            continue;
        }
        bool negative = *s == '-';
        int64_t whole, fraction = 0;
        if (!read_whole(&s, &whole))
            return false;
        bool has_fraction = *s == '.' || *s == ',';
        if (has_fraction) {
            s++;
            if (!read_fraction_ms(&s, &fraction))
                return false;
        }
        char unit = (char)toupper((unsigned char)*s++);
        size_t u = next_unit;
        while (u < sizeof units / sizeof units[0] && units[u].unit != unit)
            u++;
        if (u == sizeof units / sizeof units[0] || units[u].time_part != time_part ||
            (has_fraction && unit != 'S'))
            return false;
        if (whole > INT64_MAX / units[u].ms || whole < -(INT64_MAX / units[u].ms))
            return false;
        total += whole * units[u].ms + (negative ? -fraction : fraction);
        next_unit = u + 1;
        any = true;
    }
    if (!any)
        return false;
    *ms = sign * total;
    return true;
}
