/*
 * tool_topic_ids.h - topic ids for `kafka-topics.sh --describe`.
 *
 * librdkafka 2.0 does not expose topic ids, so this sends one Metadata v12
 * request (all topics) over a plain TCP connection to the first bootstrap
 * server and reads the ids from the answer. Plaintext listeners only: with
 * TLS/SASL, or a broker without Metadata v10+, the caller falls back to the
 * zero id Kafka prints when an id is unknown.
 */
#ifndef EDDY_TOOLS_TOOL_TOPIC_IDS_H
#define EDDY_TOOLS_TOOL_TOPIC_IDS_H

#include "common/tool_util.h"

/* Kafka's rendering of the all-zero topic id. */
#define TOOL_ZERO_TOPIC_ID "AAAAAAAAAAAAAAAAAAAAAA"

/*
 * Fill names[i] / ids[i] (ids as Kafka prints them: 22 characters of
 * unpadded URL-safe base64). Returns 0, or -1 if the ids could not be read.
 */
int tool_fetch_topic_ids(const char *bootstrap, int timeout_ms, struct tool_strlist *names,
                         struct tool_strlist *ids);

/* The id of `topic` from the lists above, or TOOL_ZERO_TOPIC_ID. */
const char *tool_topic_id_of(const struct tool_strlist *names, const struct tool_strlist *ids, const char *topic);

#endif
