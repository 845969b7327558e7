/*
 * logger.c - formats one log line and writes it with a single write(2), so
 * lines from the network, flusher and cleaner threads never interleave.
 */
#include "util/logger.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int min_level = LOGGER_INFO;

static const char *level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void logger_set_level(int level)
{
    min_level = level;
}

int logger_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void logger_log(int level, const char *component, const char *fmt, ...)
{
    if (level < min_level)
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
                          level_names[level]);

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
