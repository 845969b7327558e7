/*
 * admin_common.c - small helpers shared by the admin API handlers.
 */
#include "server/admin.h"

#include <string.h>

#include "server/broker.h"
#include "server/request.h"

static bool admin_items_step(struct controller_op *op)
{
    struct admin_items *items = (struct admin_items *)op;
    const struct controller *c = &items->req->broker->controller;
    while (items->next < items->count) {
        items->item(items, items->next++);
        if (controller_commit_pending(c))
            return false;
    }
    items->answer(items); /* frees items with the request */
    return true;
}

void admin_run_items(struct admin_items *items, struct request *req, int32_t count,
                     void (*item)(struct admin_items *, int32_t), void (*answer)(struct admin_items *))
{
    items->op.step = admin_items_step;
    items->req = req;
    items->next = 0;
    items->count = count;
    items->item = item;
    items->answer = answer;
    controller_submit(&req->broker->controller, &items->op);
}

char *admin_cstr(struct request *req, struct kstr s)
{
    if (kstr_is_null(s))
        return NULL;
    char *out = request_alloc(req, (size_t)s.len + 1);
    if (out && s.len > 0)
        memcpy(out, s.ptr, (size_t)s.len);
    return out;
}

struct kstr admin_message(struct request *req, const char *msg)
{
    if (!msg || !msg[0])
        return kstr_null();
    size_t len = strlen(msg);
    char *copy = request_alloc(req, len + 1);
    if (!copy)
        return kstr_null();
    memcpy(copy, msg, len);
    return (struct kstr){copy, (int32_t)len};
}

bool admin_config_key_wanted(const struct describe_configs_request_describe_configs_resource *res, const char *name)
{
    if (res->configuration_keys_count < 0)
        return true;
    for (int32_t i = 0; i < res->configuration_keys_count; i++)
        if (kstr_eq_cstr(res->configuration_keys[i], name))
            return true;
    return false;
}

bool admin_is_duplicate(const struct kstr *names, int32_t count, int32_t index)
{
    for (int32_t i = 0; i < count; i++)
        if (i != index && kstr_eq(names[i], names[index]))
            return true;
    return false;
}
