/*
 * logger.c - formats one log line and writes it with a single write(2), so
 * lines from the network, flusher and cleaner threads never interleave.
 */
#include "util/logger.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


/* Every component that writes lines; root first. Thresholds change while
 * other threads log: atomics, no lock on the logging path. */
static const char *const logger_names[] = {LOGGER_ROOT, "config", "controller", "fetch", "group", "log",
                                           "metadata", "net", "produce", "server"};
#define LOGGER_COUNT (sizeof logger_names / sizeof logger_names[0])
static _Atomic int root_threshold = LOGGER_INFO;
/* Each logger's own threshold, stored less LOGGER_UNSET so that the zero a
 * new entry starts with means "none, root's". Index 0 (root) is unused. */
static _Atomic int own_thresholds[LOGGER_COUNT];

static int logger_index(const char *name)
{
    for (size_t i = 0; i < LOGGER_COUNT; i++)
        if (strcmp(logger_names[i], name) == 0)
            return (int)i;
    return -1;
}

void logger_set_level(int level)
{
    atomic_store(&root_threshold, level);
}

const char *logger_name(int i)
{
    return i >= 0 && (size_t)i < LOGGER_COUNT ? logger_names[i] : NULL;
}

static const char *const kafka_level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

int logger_threshold_from_kafka_name(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(name, kafka_level_names[i]) == 0)
            return i + LOGGER_TRACE;
    return -2;
}

const char *logger_threshold_name(int threshold)
{
    int i = threshold - LOGGER_TRACE;
    return i >= 0 && i < 6 ? kafka_level_names[i] : "INFO";
}

static int effective_threshold(int index)
{
    int own = index > 0 ? atomic_load(&own_thresholds[index]) : 0;
    return own != 0 ? own + LOGGER_UNSET : atomic_load(&root_threshold);
}

int logger_threshold(const char *logger)
{
    int i = logger_index(logger);
    return i < 0 ? -2 : effective_threshold(i);
}

int logger_set_threshold(const char *logger, int threshold)
{
    int i = logger_index(logger);
    if (i < 0 || (i == 0 && threshold == LOGGER_UNSET))
        return -1;
    if (i == 0)
        atomic_store(&root_threshold, threshold);
    else
        atomic_store(&own_thresholds[i], threshold - LOGGER_UNSET);
    return 0;
}

int logger_level_from_name(const char *name)
{
    for (int level = LOGGER_DEBUG; level <= LOGGER_ERROR; level++)
        if (strcasecmp(name, logger_threshold_name(level)) == 0)
            return level;
    return -1;
}

void logger_log(int level, const char *component, const char *fmt, ...)
{
    int index = logger_index(component);
    if (level < effective_threshold(index < 0 ? 0 : index))
        return;
    if (level < LOGGER_DEBUG || level > LOGGER_ERROR)
        level = LOGGER_ERROR;

    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "[%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ",%03d] %s ", (int)(tv.tv_usec / 1000),
                          logger_threshold_name(level));

    va_list ap;
    va_start(ap, fmt);
    int body = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (body < 0)
        body = 0;
    n += (size_t)body;
    if (n > sizeof line - 64)
        n = sizeof line - 64; /* truncated message: keep room for the suffix */
    n += (size_t)snprintf(line + n, sizeof line - n, " (%s)\n", component);

    ssize_t ignored = write(STDERR_FILENO, line, n);
    (void)ignored;
}
