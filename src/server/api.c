/*
 * api.c - the APIs Eddy serves and the versions it advertises.
 *
 * Ranges follow ../shared/kafka-protocol/CLIENTS.md: wide enough for
 * librdkafka, kafka-python, kafkajs and the Java client, and never wider than
 * what the handler really implements.
 */
#include "server/api.h"

#include "protocol/generated/api_table.h"

static const struct api_handler handlers[] = {
    {API_METADATA, 0, 12, handle_metadata},
    {API_API_VERSIONS, 0, 4, handle_api_versions},
};

const struct api_handler *api_handlers(size_t *count)
{
    *count = sizeof handlers / sizeof handlers[0];
    return handlers;
}

const struct api_handler *api_handler_find(int16_t key)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].key == key)
            return &handlers[i];
    return NULL;
}
