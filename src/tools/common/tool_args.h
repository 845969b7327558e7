/*
 * tool_args.h - command-line parsing shared by Eddy's Kafka-compatible tools.
 *
 * Each tool declares a table of `struct tool_option` (ending with a zeroed
 * entry) and calls tool_args_parse(). Parsing follows Kafka's tools (which use
 * jopt-simple): long options `--name value` or `--name=value`, unambiguous
 * prefixes of option names, repeatable options collecting every value.
 * --help prints usage and exits 0; --version prints the version and exits 0;
 * an unknown or malformed option prints a one-line error and usage, exit 1.
 */
#ifndef EDDY_TOOLS_TOOL_ARGS_H
#define EDDY_TOOLS_TOOL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#define TOOL_VERSION "3.7.0 (Eddy tools 0.1)"

enum tool_arg_kind {
    TOOL_ARG_NONE,     /* a flag: --from-beginning */
    TOOL_ARG_REQUIRED, /* --topic my-topic */
    TOOL_ARG_OPTIONAL, /* --compression-codec [codec]: takes the next word unless it is an option */
    TOOL_ARG_MULTI,    /* --producer-props a=1 b=2: takes every following word up to the next option */
};

struct tool_option {
    const char *name;     /* without the leading "--" */
    enum tool_arg_kind kind;
    const char *arg_help; /* shown as <arg_help> in usage, e.g. "String: topic" */
    const char *help;
    /* Filled by tool_args_parse. values point into argv (or "" for a bare optional). */
    int count;
    int nvalues;
    const char **values;
};

struct tool_cli {
    const char *name;        /* e.g. "kafka-topics.sh" */
    const char *description; /* one paragraph shown above the options */
    struct tool_option *options;
};

/* Parse argv into cli->options; exits on --help, --version or an error. */
void tool_args_parse(struct tool_cli *cli, int argc, char **argv);
/* Free the value arrays allocated by tool_args_parse. */
void tool_args_free(struct tool_cli *cli);

/* Print usage to stderr. */
void tool_args_usage(const struct tool_cli *cli);
/* Print "msg" (one line) and usage to stderr, exit 1. */
_Noreturn void tool_args_die(const struct tool_cli *cli, const char *fmt, ...);

struct tool_option *tool_opt(const struct tool_cli *cli, const char *name);
bool tool_has(const struct tool_cli *cli, const char *name);
/* Last value given for the option, or NULL. */
const char *tool_value(const struct tool_cli *cli, const char *name);
/* Last value, or die with "Missing required argument" if absent. */
const char *tool_require(const struct tool_cli *cli, const char *name);
/* Parse an integer option; `fallback` when absent; dies on a malformed number. */
int64_t tool_int(const struct tool_cli *cli, const char *name, int64_t fallback);

#endif
