/*
 * tool_args.c - option parsing and usage printing for the command-line tools
 * (see tool_args.h for the accepted syntax).
 */
#include "common/tool_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static void print_usage(const struct tool_cli *cli, FILE *out);

static void option_add_value(struct tool_option *opt, const char *value)
{
    const char **grown = realloc(opt->values, sizeof(*grown) * (size_t)(opt->nvalues + 1));
    if (!grown) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    opt->values = grown;
    opt->values[opt->nvalues++] = value;
}

static bool is_option_word(const char *word)
{
    return word[0] == '-' && word[1] == '-' && word[2] != '\0';
}

/* Exact match first, then a unique prefix (jopt-simple accepts abbreviations). */
static struct tool_option *find_option(const struct tool_cli *cli, const char *name, size_t len,
                                       bool *ambiguous)
{
    struct tool_option *prefix_match = NULL;
    int prefix_matches = 0;
    *ambiguous = false;
    for (struct tool_option *o = cli->options; o->name; o++) {
        if (strncmp(o->name, name, len) != 0)
            continue;
        if (o->name[len] == '\0')
            return o;
        prefix_match = o;
        prefix_matches++;
    }
    if (prefix_matches > 1) {
        *ambiguous = true;
        return NULL;
    }
    return prefix_match;
}

static void print_version_and_exit(void)
{
    printf("%s (librdkafka %s)\n", TOOL_VERSION, rd_kafka_version_str());
    exit(0);
}

void tool_args_parse(struct tool_cli *cli, int argc, char **argv)
{
    if (argc <= 1) {
        fprintf(stderr, "%s\n", cli->description);
        tool_args_usage(cli);
        exit(1);
    }
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (!is_option_word(word))
            tool_args_die(cli, "Found non-option argument '%s'; every argument must follow an option", word);
        const char *name = word + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if (len == 4 && strncmp(name, "help", 4) == 0) {
            fprintf(stdout, "%s\n", cli->description);
            print_usage(cli, stdout);
            exit(0);
        }
        if (len == 7 && strncmp(name, "version", 7) == 0)
            print_version_and_exit();
        bool ambiguous;
        struct tool_option *opt = find_option(cli, name, len, &ambiguous);
        if (!opt)
            tool_args_die(cli, "%.*s is %s option", (int)len, name,
                          ambiguous ? "an ambiguous" : "not a recognized");
        opt->count++;
        switch (opt->kind) {
        case TOOL_ARG_NONE:
            if (eq)
                tool_args_die(cli, "Option --%s does not take an argument", opt->name);
            break;
        case TOOL_ARG_REQUIRED:
            if (eq) {
                option_add_value(opt, eq + 1);
            } else {
                if (i + 1 >= argc)
                    tool_args_die(cli, "Option --%s requires an argument", opt->name);
                option_add_value(opt, argv[++i]);
            }
            break;
        case TOOL_ARG_OPTIONAL:
            if (eq)
                option_add_value(opt, eq + 1);
            else if (i + 1 < argc && !is_option_word(argv[i + 1]))
                option_add_value(opt, argv[++i]);
            else
                option_add_value(opt, "");
            break;
        case TOOL_ARG_MULTI:
            if (eq)
                option_add_value(opt, eq + 1);
            while (i + 1 < argc && !is_option_word(argv[i + 1]))
                option_add_value(opt, argv[++i]);
            if (opt->nvalues == 0)
                tool_args_die(cli, "Option --%s requires an argument", opt->name);
            break;
        }
    }
}

void tool_args_free(struct tool_cli *cli)
{
    for (struct tool_option *o = cli->options; o->name; o++) {
        free(o->values);
        o->values = NULL;
        o->nvalues = 0;
    }
}

static void print_option_line(FILE *out, const char *left, const char *help)
{
    if (strlen(left) < 40)
        fprintf(out, "%-40s %s\n", left, help);
    else
        fprintf(out, "%s\n%-40s %s\n", left, "", help);
}

static void print_usage(const struct tool_cli *cli, FILE *out)
{
    char left[256];
    print_option_line(out, "Option", "Description");
    print_option_line(out, "------", "-----------");
    for (const struct tool_option *o = cli->options; o->name; o++) {
        switch (o->kind) {
        case TOOL_ARG_NONE:
            snprintf(left, sizeof left, "--%s", o->name);
            break;
        case TOOL_ARG_OPTIONAL:
            snprintf(left, sizeof left, "--%s [%s]", o->name, o->arg_help ? o->arg_help : "String");
            break;
        default:
            snprintf(left, sizeof left, "--%s <%s>", o->name, o->arg_help ? o->arg_help : "String");
            break;
        }
        print_option_line(out, left, o->help);
    }
    print_option_line(out, "--help", "Print usage information.");
    print_option_line(out, "--version", "Display Kafka version.");
}

void tool_args_usage(const struct tool_cli *cli)
{
    print_usage(cli, stderr);
}

_Noreturn void tool_args_die(const struct tool_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    tool_args_usage(cli);
    exit(1);
}

struct tool_option *tool_opt(const struct tool_cli *cli, const char *name)
{
    for (struct tool_option *o = cli->options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    fprintf(stderr, "internal error: option --%s is not declared\n", name);
    abort();
}

bool tool_has(const struct tool_cli *cli, const char *name)
{
    return tool_opt(cli, name)->count > 0;
}

const char *tool_value(const struct tool_cli *cli, const char *name)
{
    struct tool_option *o = tool_opt(cli, name);
    return o->nvalues ? o->values[o->nvalues - 1] : NULL;
}

const char *tool_require(const struct tool_cli *cli, const char *name)
{
    const char *v = tool_value(cli, name);
    if (!v)
        tool_args_die(cli, "Missing required argument \"[%s]\"", name);
    return v;
}

int64_t tool_int(const struct tool_cli *cli, const char *name, int64_t fallback)
{
    const char *v = tool_value(cli, name);
    if (!v)
        return fallback;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        tool_args_die(cli, "Cannot parse argument '%s' of option %s", v, name);
    return n;
}
