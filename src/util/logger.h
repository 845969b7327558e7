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

/* Thresholds a logger can be set to: the line levels above, plus Kafka's
 * TRACE (as DEBUG: Eddy writes no finer lines) and FATAL (above ERROR: Eddy
 * writes no fatal lines, so nothing is written). */
#define LOGGER_TRACE (-1)
#define LOGGER_FATAL 4

#if defined(__GNUC__)
#define LOGGER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOGGER_PRINTF(a, b)
#endif

void logger_log(int level, const char *component, const char *fmt, ...) LOGGER_PRINTF(3, 4);
/* The root threshold (eddy.log.level), for every logger without its own. */
void logger_set_level(int level);
int logger_level_from_name(const char *name); /* -1 if unknown */

/*
 * Named loggers, one per component (the `component` of each line), changed at
 * run time through Kafka's BROKER_LOGGER config resource (KIP-412): "root"
 * and each component. A line's component not among them follows root.
 */
#define LOGGER_ROOT "root"
/* The i-th logger name (0 is root), or NULL past the last. */
const char *logger_name(int i);
/* Kafka's level names, case as Kafka has them: TRACE, DEBUG, INFO, WARN, ERROR, FATAL; else -2. */
int logger_threshold_from_kafka_name(const char *name);
const char *logger_threshold_name(int threshold);
/* The logger's effective threshold (its own, or root's); -2 if no such logger. */
int logger_threshold(const char *logger);
/* Set a logger's own threshold; unset (root's again) with LOGGER_UNSET. 0, or -1 if no such logger. */
#define LOGGER_UNSET (-100)
int logger_set_threshold(const char *logger, int threshold);

#define log_debug(component, ...) logger_log(LOGGER_DEBUG, component, __VA_ARGS__)
#define log_info(component, ...) logger_log(LOGGER_INFO, component, __VA_ARGS__)
#define log_warn(component, ...) logger_log(LOGGER_WARN, component, __VA_ARGS__)
#define log_error(component, ...) logger_log(LOGGER_ERROR, component, __VA_ARGS__)

#endif
