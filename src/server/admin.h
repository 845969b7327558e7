/*
 * admin.h - helpers shared by the admin API handlers (admin_*.c): the
 * handlers themselves are declared in server/api.h.
 */
#ifndef EDDY_SERVER_ADMIN_H
#define EDDY_SERVER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster/controller.h"
#include "protocol/generated/messages.h"
#include "protocol/wire.h"

struct request;

/*
 * An admin request that changes metadata: item(i) for each of its `count`
 * entries, one at a time as a controller operation (cluster/controller.h):
 * after an entry whose change is in flight, the next one waits until that
 * change is durable and applied, so each entry is checked against the
 * metadata as the ones before it left it. Then answer(), which responds.
 * Embed it first in the handler's state, allocated in request memory.
 */
struct admin_items {
    struct controller_op op; /* first */
    struct request *req;
    int32_t next, count;
    void (*item)(struct admin_items *items, int32_t index);
    void (*answer)(struct admin_items *items);
};
void admin_run_items(struct admin_items *items, struct request *req, int32_t count,
                     void (*item)(struct admin_items *, int32_t), void (*answer)(struct admin_items *));

/* An error message copied into request memory; null for an empty message. */
struct kstr admin_message(struct request *req, const char *msg);
/* A NUL-terminated copy of s in request memory (NULL for a null string). */
char *admin_cstr(struct request *req, struct kstr s);
/* Whether DescribeConfigs asked for `name`: its key list is null (all) or names it. */
bool admin_config_key_wanted(const struct describe_configs_request_describe_configs_resource *res, const char *name);
/* True when names[index] appears elsewhere in names[0..count) (Kafka refuses every copy). */
bool admin_is_duplicate(const struct kstr *names, int32_t count, int32_t index);

#endif
