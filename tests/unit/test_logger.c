/*
 * test_logger.c - the named loggers behind BROKER_LOGGER (KIP-412): root's
 * level is every logger's until one gets its own, unset gives root's back,
 * root cannot be unset, Kafka's level names (upper case) map to thresholds,
 * and a line is written only at or above its logger's threshold.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "util/logger.h"

/* What logger_log writes for one line, captured from stderr. */
static size_t captured(int level, const char *component)
{
    char path[] = "/tmp/eddy-logger-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    logger_log(level, component, "a line");
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    return size > 0 ? (size_t)size : 0;
}

int main(void)
{
    CHECK(strcmp(logger_name(0), LOGGER_ROOT) == 0, "root comes first");
    int count = 0;
    while (logger_name(count))
        count++;
    CHECK(count > 5, "root and the components: %d loggers", count);
    CHECK(logger_threshold("net") == LOGGER_INFO, "a logger without its own level has root's (INFO)");
    CHECK(logger_threshold("nosuch") == -2, "an unknown logger is reported as such");

    CHECK(logger_threshold_from_kafka_name("TRACE") == LOGGER_TRACE, "TRACE");
    CHECK(logger_threshold_from_kafka_name("FATAL") == LOGGER_FATAL, "FATAL");
    CHECK(logger_threshold_from_kafka_name("warn") == -2, "names are Kafka's, upper case");
    CHECK(strcmp(logger_threshold_name(LOGGER_ERROR), "ERROR") == 0, "ERROR by name");

    CHECK(captured(LOGGER_WARN, "net") > 0, "a WARN line of net is written at INFO");
    CHECK(logger_set_threshold("net", LOGGER_ERROR) == 0, "net set to ERROR");
    CHECK(captured(LOGGER_WARN, "net") == 0, "then net's WARN line is not");
    CHECK(captured(LOGGER_WARN, "log") > 0, "nor does it touch another logger");
    CHECK(captured(LOGGER_ERROR, "net") > 0, "net's ERROR lines still are");
    logger_set_level(LOGGER_FATAL);
    CHECK(logger_threshold("log") == LOGGER_FATAL && logger_threshold("net") == LOGGER_ERROR,
          "root's level moves the loggers without their own, not net");
    CHECK(captured(LOGGER_ERROR, "unlisted") == 0, "a component not listed follows root");
    CHECK(logger_set_threshold("net", LOGGER_UNSET) == 0 && logger_threshold("net") == LOGGER_FATAL,
          "unset: net has root's level again");
    CHECK(logger_set_threshold(LOGGER_ROOT, LOGGER_UNSET) == -1, "root cannot be unset");
    CHECK(logger_set_threshold("nosuch", LOGGER_DEBUG) == -1, "an unknown logger cannot be set");
    CHECK(logger_set_threshold(LOGGER_ROOT, LOGGER_ERROR) == 0 && logger_threshold("log") == LOGGER_ERROR,
          "root set by name (as BROKER_LOGGER sets it) moves the others");
    logger_set_level(LOGGER_TRACE);
    CHECK(captured(LOGGER_DEBUG, "group") > 0, "TRACE writes DEBUG lines");

    printf("logger: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
