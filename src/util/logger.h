/*
 * logger.h - the broker's log lines, in Kafka's layout so that operators'
 * habits (and grep patterns) carry over:
 *
 *   [2026-11-23 07:40:01,123] INFO Listening on 127.0.0.1:9092 (net)
 *
 * Lines go to stderr. Safe to call from any thread (one write per line).
 */
#ifndef EDDY_UTIL_LOGGER_H
#define EDDY_UTIL_LOGGER_H

enum logger_level { LOGGER_DEBUG = 0, LOGGER_INFO, LOGGER_WARN, LOGGER_ERROR };

#if defined(__GNUC__)
#define LOGGER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOGGER_PRINTF(a, b)
#endif

void logger_log(int level, const char *component, const char *fmt, ...) LOGGER_PRINTF(3, 4);
void logger_set_level(int level);
int logger_level_from_name(const char *name); /* -1 if unknown */

#define log_debug(component, ...) logger_log(LOGGER_DEBUG, component, __VA_ARGS__)
#define log_info(component, ...) logger_log(LOGGER_INFO, component, __VA_ARGS__)
#define log_warn(component, ...) logger_log(LOGGER_WARN, component, __VA_ARGS__)
#define log_error(component, ...) logger_log(LOGGER_ERROR, component, __VA_ARGS__)

#endif
