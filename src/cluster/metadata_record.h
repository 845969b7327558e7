/*
 * metadata_record.h - KRaft metadata records: their framing in the metadata
 * log and how each one changes the metadata image.
 *
 * A record's value is: uvarint frame version (1), uvarint apiKey (the record
 * type), uvarint record version, then the record struct in the schema of
 * ../shared/kafka-protocol/metadata/ (codec in protocol/generated/
 * metadata_records.h). Records have no key.
 *
 * metadata_record_apply is the only code that changes the image, both when
 * the log is replayed at start-up and when the controller commits records.
 */
#ifndef EDDY_CLUSTER_METADATA_RECORD_H
#define EDDY_CLUSTER_METADATA_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "cluster/metadata_image.h"
#include "protocol/generated/metadata_records.h"
#include "util/arena.h"

enum metadata_record_type {
    METADATA_REGISTER_BROKER = 0,
    METADATA_TOPIC = 2,
    METADATA_PARTITION = 3,
    METADATA_CONFIG = 4,
    METADATA_PARTITION_CHANGE = 5,
    METADATA_FENCE_BROKER = 7,
    METADATA_REMOVE_TOPIC = 9,
    METADATA_FEATURE_LEVEL = 12,
    METADATA_UNFENCE_BROKER = 8,
    METADATA_NO_OP = 20,
};

/* Kafka's ConfigResource.Type values (DescribeConfigs, ConfigRecord). */
enum config_resource_type {
    CONFIG_RESOURCE_TOPIC = 2,
    CONFIG_RESOURCE_BROKER = 4,
    CONFIG_RESOURCE_BROKER_LOGGER = 8,
};

struct metadata_record {
    int16_t type;    /* enum metadata_record_type */
    int16_t version; /* 0 picks the version Eddy writes */
    union {
        struct register_broker_record register_broker;
        struct topic_record topic;
        struct partition_record partition;
        struct config_record config;
        struct partition_change_record partition_change;
        struct fence_broker_record fence_broker;
        struct unfence_broker_record unfence_broker;
        struct remove_topic_record remove_topic;
        struct feature_level_record feature_level;
        struct no_op_record no_op;
    } u;
};

/* Set type and the struct's defaults. */
void metadata_record_init(struct metadata_record *rec, int16_t type);

/* Framed size, or 0 for a type Eddy does not know. */
size_t metadata_record_size(const struct metadata_record *rec);
/* Write the framed record into buf (cap >= size). Bytes written, or -EINVAL. */
int metadata_record_encode(const struct metadata_record *rec, uint8_t *buf, size_t cap);
/*
 * Decode a framed record; arrays and strings come from a (strings may point
 * into buf). 0, -ENOTSUP for a record type Eddy does not apply (skip it), or
 * -EINVAL if malformed.
 */
int metadata_record_decode(const uint8_t *buf, size_t len, struct metadata_record *out, struct arena *a);

/*
 * Apply one record to the image. 0, -ENOMEM, or -EINVAL when the record does
 * not fit the image (unknown topic id, duplicate name...): replay logs and
 * skips such records, the controller never writes them.
 */
int metadata_record_apply(struct metadata_image *img, const struct metadata_record *rec);

/*
 * The records that rebuild img from nothing (snapshots): feature level,
 * brokers, dynamic broker configs, then each topic with its partitions and
 * configs. Arrays and strings come from a. 0 or -ENOMEM.
 */
int metadata_image_to_records(const struct metadata_image *img, struct arena *a, struct metadata_record **out,
                              size_t *count);

#endif
