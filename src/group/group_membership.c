/*
 * group_membership.c - Kafka's classic group membership protocol as a state
 * machine: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, session expiry.
 *
 *   Empty --join--> PreparingRebalance --all joined / timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable
 *   Stable/CompletingRebalance --join with new metadata, leave, expiry--> PreparingRebalance
 *   PreparingRebalance --nobody left--> Empty
 *
 * A rebalance waits for every known member to send JoinGroup, at most the
 * largest rebalance timeout; members that did not rejoin are dropped
 * (static members stay until their session times out). A rebalance that
 * starts from Empty first waits group.initial.rebalance.delay.ms, extended
 * while new members keep arriving, up to the rebalance timeout, so that a
 * group that starts all at once rebalances once. Members waiting in Join or
 * Sync are kept alive; the others must heartbeat within their session
 * timeout. JoinGroup v4+ with an empty member id first gets
 * MEMBER_ID_REQUIRED and an id to come back with. A static member
 * (group.instance.id) that rejoins with an empty id takes its old place and
 * assignment; without protocol changes a Stable group does not rebalance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/metadata_image.h"
#include "group/group_internal.h"
#include "protocol/errors.h"
#include "util/logger.h"

struct group_member *group_member_find(struct group *g, struct kstr id)
{
    if (kstr_is_null(id))
        return NULL;
    for (struct group_member *m = g->members; m; m = m->next)
        if (kstr_eq_cstr(id, m->id))
            return m;
    return NULL;
}

struct group_member *group_member_find_static(struct group *g, struct kstr instance_id)
{
    if (kstr_is_null(instance_id))
        return NULL;
    for (struct group_member *m = g->members; m; m = m->next)
        if (m->instance_id && kstr_eq_cstr(instance_id, m->instance_id))
            return m;
    return NULL;
}

static void protocols_free(struct member_protocol *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].metadata);
    }
    free(p);
}

void group_member_free(struct group_member *m)
{
    if (!m)
        return;
    free(m->id);
    free(m->instance_id);
    free(m->client_id);
    free(m->client_host);
    protocols_free(m->protocols, m->protocol_count);
    free(m->assignment);
    free(m);
}

const struct member_protocol *group_member_chosen(const struct group *g, const struct group_member *m)
{
    if (!g->protocol_name)
        return NULL;
    for (int32_t i = 0; i < m->protocol_count; i++)
        if (strcmp(m->protocols[i].name, g->protocol_name) == 0)
            return &m->protocols[i];
    return NULL;
}

static bool member_supports(const struct group_member *m, const char *name, size_t len)
{
    for (int32_t i = 0; i < m->protocol_count; i++)
        if (strlen(m->protocols[i].name) == len && memcmp(m->protocols[i].name, name, len) == 0)
            return true;
    return false;
}

/* Copy the request's protocols. NULL on allocation failure (or none given). */
static struct member_protocol *protocols_copy(const struct group_protocol *in, int32_t n)
{
    struct member_protocol *out = calloc(n > 0 ? (size_t)n : 1, sizeof *out);
    if (!out)
        return NULL;
    for (int32_t i = 0; i < n; i++) {
        int32_t len = in[i].metadata.len > 0 ? in[i].metadata.len : 0;
        out[i].name = group_strdup_kstr(kstr_is_null(in[i].name) ? kstr_from_cstr("") : in[i].name);
        out[i].metadata = malloc(len ? (size_t)len : 1);
        out[i].metadata_len = len;
        if (!out[i].name || !out[i].metadata) {
            protocols_free(out, i + 1);
            return NULL;
        }
        if (len)
            memcpy(out[i].metadata, in[i].metadata.ptr, (size_t)len);
    }
    return out;
}

static bool protocols_equal(const struct group_member *m, const struct group_join_params *p)
{
    if (m->protocol_count != p->protocol_count)
        return false;
    for (int32_t i = 0; i < p->protocol_count; i++) {
        const struct member_protocol *a = &m->protocols[i];
        const struct group_protocol *b = &p->protocols[i];
        int32_t blen = b->metadata.len > 0 ? b->metadata.len : 0;
        if (!kstr_eq_cstr(b->name, a->name) || a->metadata_len != blen ||
            (blen && memcmp(a->metadata, b->metadata.ptr, (size_t)blen) != 0))
            return false;
    }
    return true;
}

/* Kafka's supportsProtocols: the type matches and one protocol is supported by every member. */
static bool group_supports(const struct group *g, const struct group_join_params *p)
{
    if (kstr_is_null(p->protocol_type) || p->protocol_type.len == 0 || p->protocol_count <= 0)
        return false;
    if (g->member_count == 0)
        return true;
    if (!g->protocol_type || !kstr_eq_cstr(p->protocol_type, g->protocol_type))
        return false;
    for (int32_t i = 0; i < p->protocol_count; i++) {
        struct kstr name = p->protocols[i].name;
        if (kstr_is_null(name))
            continue;
        bool everyone = true;
        for (const struct group_member *m = g->members; m && everyone; m = m->next)
            everyone = member_supports(m, name.ptr, (size_t)name.len);
        if (everyone)
            return true;
    }
    return false;
}

/* Each member votes for its most preferred protocol that all members support. */
static char *select_protocol(const struct group *g)
{
    const struct group_member *first = g->members;
    if (!first)
        return NULL;
    int32_t best_votes = -1;
    const char *best = NULL;
    for (int32_t i = 0; i < first->protocol_count; i++) {
        const char *cand = first->protocols[i].name;
        size_t len = strlen(cand);
        bool everyone = true;
        for (const struct group_member *m = g->members; m && everyone; m = m->next)
            everyone = member_supports(m, cand, len);
        if (!everyone)
            continue;
        int32_t votes = 0;
        for (const struct group_member *m = g->members; m; m = m->next) {
            for (int32_t j = 0; j < m->protocol_count; j++) {
                const char *name = m->protocols[j].name;
                bool common = true;
                for (const struct group_member *o = g->members; o && common; o = o->next)
                    common = member_supports(o, name, strlen(name));
                if (!common)
                    continue;
                if (strcmp(name, cand) == 0)
                    votes++;
                break; /* only the first common protocol of each member counts */
            }
        }
        if (votes > best_votes) {
            best_votes = votes;
            best = cand;
        }
    }
    return best ? strdup(best) : NULL;
}

static bool pending_take(struct group *g, struct kstr id)
{
    for (struct pending_member **link = &g->pending; *link; link = &(*link)->next) {
        if (kstr_eq_cstr(id, (*link)->id)) {
            struct pending_member *p = *link;
            *link = p->next;
            free(p->id);
            free(p);
            return true;
        }
    }
    return false;
}

static bool pending_has(const struct group *g, struct kstr id)
{
    for (const struct pending_member *p = g->pending; p; p = p->next)
        if (kstr_eq_cstr(id, p->id))
            return true;
    return false;
}

static char *new_member_id(struct kstr client_id)
{
    struct kuuid u = uuid_random();
    const uint8_t *b = u.bytes;
    int cid_len = kstr_is_null(client_id) ? 0 : client_id.len;
    size_t n = (size_t)cid_len + 1 + 36 + 1;
    char *id = malloc(n);
    if (!id)
        return NULL;
    snprintf(id, n,
             "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             cid_len, cid_len ? client_id.ptr : "", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return id;
}

/* ---- answering waiters ---- */

static void answer_join_error(group_join_fn done, void *arg, int16_t error, const char *member_id)
{
    struct group_join_result r = {.error = error, .generation = -1, .member_id = member_id ? member_id : "",
                                  .leader_id = ""};
    done(arg, &r);
}

static void answer_sync(group_sync_fn done, void *arg, int16_t error, const struct group *g,
                        const struct group_member *m)
{
    struct group_sync_result r = {.error = error};
    if (!error && g) {
        r.protocol_type = g->protocol_type;
        r.protocol_name = g->protocol_name;
        r.assignment = m->assignment ? m->assignment : (const uint8_t *)"";
        r.assignment_len = m->assignment_len;
    }
    done(arg, &r);
}

static void member_answer_join_error(struct group_member *m, int16_t error)
{
    if (!m->join_done)
        return;
    group_join_fn done = m->join_done;
    void *arg = m->join_arg;
    m->join_done = NULL;
    answer_join_error(done, arg, error, m->id);
}

static void member_answer_sync_error(struct group_member *m, int16_t error)
{
    if (!m->sync_done)
        return;
    group_sync_fn done = m->sync_done;
    void *arg = m->sync_arg;
    m->sync_done = NULL;
    answer_sync(done, arg, error, NULL, m);
}

void group_members_fail_waiting(struct group *g, int16_t error)
{
    for (struct group_member *m = g->members; m; m = m->next) {
        member_answer_join_error(m, error);
        member_answer_sync_error(m, error);
    }
}

/* The current generation as a join response; the leader also gets every
 * member's metadata. `stable_rejoin`: a static member took its place back
 * without a rebalance, so if it leads, its assignment stands (KIP-814). */
static void answer_join_current(const struct group *g, const struct group_member *m, bool stable_rejoin,
                                group_join_fn done, void *arg)
{
    struct group_join_result r = {
        .generation = g->generation,
        .protocol_type = g->protocol_type,
        .protocol_name = g->protocol_name,
        .leader_id = g->leader_id ? g->leader_id : "",
        .member_id = m->id,
    };
    struct group_join_member *members = NULL;
    bool leader = g->leader_id && strcmp(g->leader_id, m->id) == 0;
    r.skip_assignment = leader && stable_rejoin;
    if (leader && g->member_count > 0) {
        members = calloc((size_t)g->member_count, sizeof *members);
        if (!members) {
            answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, m->id);
            return;
        }
        int32_t n = 0;
        for (const struct group_member *o = g->members; o; o = o->next) {
            const struct member_protocol *p = group_member_chosen(g, o);
            members[n].member_id = o->id;
            members[n].group_instance_id = o->instance_id;
            members[n].metadata = p ? p->metadata : (const uint8_t *)"";
            members[n].metadata_len = p ? p->metadata_len : 0;
            n++;
        }
        r.members = members;
        r.member_count = n;
    }
    done(arg, &r);
    free(members);
}

/* ---- rebalancing ---- */

static int32_t max_rebalance_timeout(const struct group *g)
{
    int32_t t = 0;
    for (const struct group_member *m = g->members; m; m = m->next)
        if (m->rebalance_timeout_ms > t)
            t = m->rebalance_timeout_ms;
    return t;
}

static void clear_assignments(struct group *g)
{
    for (struct group_member *m = g->members; m; m = m->next) {
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
    }
}

static void prepare_rebalance(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    if (g->state == GROUP_COMPLETING_REBALANCE) {
        clear_assignments(g);
        for (struct group_member *m = g->members; m; m = m->next) {
            if (m->sync_done) /* its session restarts once answered, as in Kafka */
                m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
            member_answer_sync_error(m, KAFKA_REBALANCE_IN_PROGRESS);
        }
    }
    int64_t timeout = max_rebalance_timeout(g);
    if (g->state == GROUP_EMPTY && gc->config.initial_rebalance_delay_ms > 0) {
        int64_t delay = gc->config.initial_rebalance_delay_ms;
        g->initial_delay = true;
        g->initial_delay_remaining_ms = timeout > delay ? timeout - delay : 0;
        g->joined_during_delay = false;
        g->rebalance_deadline_ms = now_ms + delay;
    } else {
        g->initial_delay = false;
        g->rebalance_deadline_ms = now_ms + timeout;
    }
    log_info("group", "preparing to rebalance group %s in state %s with old generation %d", g->id,
             group_state_name(g->state), g->generation);
    group_set_state(g, GROUP_PREPARING_REBALANCE, now_ms);
}

static void maybe_prepare_rebalance(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_EMPTY)
        prepare_rebalance(gc, g, now_ms);
}

/* Unlink m and free it; the leader moves to another member. */
static void unlink_member(struct group *g, struct group_member *m)
{
    for (struct group_member **link = &g->members; *link; link = &(*link)->next) {
        if (*link == m) {
            *link = m->next;
            g->member_count--;
            break;
        }
    }
    if (g->leader_id && strcmp(g->leader_id, m->id) == 0) {
        free(g->leader_id);
        g->leader_id = g->members ? strdup(g->members->id) : NULL;
    }
    group_member_free(m);
}

static void complete_join(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    /* Dynamic members that did not rejoin in time are out; static ones wait for their session to end. */
    struct group_member *m = g->members;
    while (m) {
        struct group_member *next = m->next;
        if (!m->join_done && !m->instance_id) {
            log_info("group", "member %s of group %s did not rejoin in time: removed", m->id, g->id);
            unlink_member(g, m);
        }
        m = next;
    }
    /* The leader must be a member that rejoined, if any did. */
    bool leader_joined = false;
    for (m = g->members; m; m = m->next)
        if (m->join_done && g->leader_id && strcmp(m->id, g->leader_id) == 0)
            leader_joined = true;
    if (!leader_joined) {
        for (m = g->members; m && !m->join_done; m = m->next)
            ;
        if (m) {
            free(g->leader_id);
            g->leader_id = strdup(m->id);
        }
    }
    g->initial_delay = false;
    g->rebalance_deadline_ms = -1;
    g->generation++;
    free(g->protocol_name);
    g->protocol_name = NULL;
    if (g->member_count == 0) {
        free(g->leader_id);
        g->leader_id = NULL;
        group_set_state(g, GROUP_EMPTY, now_ms);
        log_info("group", "group %s with generation %d is now empty", g->id, g->generation);
        group_store_metadata(gc, g, now_ms, NULL, NULL);
        return;
    }
    g->protocol_name = select_protocol(g);
    group_set_state(g, GROUP_COMPLETING_REBALANCE, now_ms);
    g->rebalance_deadline_ms = now_ms + max_rebalance_timeout(g); /* for SyncGroup, as Kafka 3.x */
    log_info("group", "stabilized group %s generation %d (protocol %s) with %d members", g->id, g->generation,
             g->protocol_name ? g->protocol_name : "none", g->member_count);
    for (m = g->members; m; m = m->next) {
        m->is_new = false;
        m->awaiting_sync = true;
        m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
        if (!m->join_done)
            continue;
        group_join_fn done = m->join_done;
        void *arg = m->join_arg;
        m->join_done = NULL;
        answer_join_current(g, m, false, done, arg);
    }
}

static bool all_joined(const struct group *g)
{
    if (g->pending)
        return false;
    for (const struct group_member *m = g->members; m; m = m->next)
        if (!m->join_done)
            return false;
    return true;
}

static void try_complete_join(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && all_joined(g))
        complete_join(gc, g, now_ms);
}

static void remove_member_and_update(struct group_coordinator *gc, struct group *g, struct group_member *m,
                                     int64_t now_ms)
{
    member_answer_join_error(m, KAFKA_UNKNOWN_MEMBER_ID);
    member_answer_sync_error(m, KAFKA_UNKNOWN_MEMBER_ID);
    unlink_member(g, m);
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
        prepare_rebalance(gc, g, now_ms);
    try_complete_join(gc, g, now_ms);
}

/* The rebalance timeout passed since the generation began without SyncGroup
 * from some members (also once the group is Stable, as Kafka's
 * expirePendingSync): drop them and rebalance. */
static void expel_unsynced(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    g->rebalance_deadline_ms = -1;
    int32_t n = 0;
    char **ids = calloc((size_t)g->member_count + 1, sizeof *ids);
    if (!ids)
        return;
    for (struct group_member *m = g->members; m; m = m->next)
        if (m->awaiting_sync)
            ids[n++] = strdup(m->id);
    for (int32_t i = 0; i < n; i++) {
        struct group_member *m = ids[i] ? group_member_find(g, kstr_from_cstr(ids[i])) : NULL;
        if (m) {
            log_info("group", "member %s of group %s sent no SyncGroup in time: removed", m->id, g->id);
            remove_member_and_update(gc, g, m, now_ms);
        }
        free(ids[i]);
    }
    free(ids);
}

void group_membership_tick(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    if (g->loaded)
        return; /* deadlines start when loading completes */
    bool changed = false;
    for (struct pending_member **link = &g->pending; *link;) {
        struct pending_member *p = *link;
        if (now_ms < p->deadline_ms) {
            link = &p->next;
            continue;
        }
        *link = p->next;
        free(p->id);
        free(p);
        changed = true;
    }
    struct group_member *m = g->members;
    while (m) {
        struct group_member *next = m->next;
        if (!m->join_done && !m->sync_done && now_ms >= m->heartbeat_deadline_ms) {
            log_info("group", "member %s in group %s has failed (session timeout %d ms), removing it", m->id,
                     g->id, m->session_timeout_ms);
            remove_member_and_update(gc, g, m, now_ms);
            changed = true;
            m = g->members; /* the list may have changed: start over */
            continue;
        }
        m = next;
    }
    if (changed)
        try_complete_join(gc, g, now_ms);
    if ((g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_STABLE) && g->rebalance_deadline_ms >= 0 &&
        now_ms >= g->rebalance_deadline_ms) {
        expel_unsynced(gc, g, now_ms);
        return;
    }
    if (g->state != GROUP_PREPARING_REBALANCE || g->rebalance_deadline_ms < 0 || now_ms < g->rebalance_deadline_ms)
        return;
    if (g->initial_delay && g->joined_during_delay && g->initial_delay_remaining_ms > 0) {
        int64_t delay = gc->config.initial_rebalance_delay_ms;
        if (delay > g->initial_delay_remaining_ms)
            delay = g->initial_delay_remaining_ms;
        g->initial_delay_remaining_ms -= delay;
        g->joined_during_delay = false;
        g->rebalance_deadline_ms = now_ms + delay;
        return;
    }
    complete_join(gc, g, now_ms);
}

/* ---- JoinGroup ---- */

static struct group_member *member_new(char *id, const struct group_join_params *p)
{
    struct group_member *m = calloc(1, sizeof *m);
    if (!m) {
        free(id);
        return NULL;
    }
    m->id = id;
    m->instance_id = group_strdup_kstr(p->group_instance_id);
    m->client_id = group_strdup_kstr(kstr_is_null(p->client_id) ? kstr_from_cstr("") : p->client_id);
    m->client_host = group_strdup_kstr(kstr_is_null(p->client_host) ? kstr_from_cstr("") : p->client_host);
    m->protocols = protocols_copy(p->protocols, p->protocol_count);
    m->protocol_count = p->protocol_count;
    if (!m->id || !m->client_id || !m->client_host || !m->protocols ||
        (!kstr_is_null(p->group_instance_id) && !m->instance_id)) {
        if (!m->protocols)
            m->protocol_count = 0;
        group_member_free(m);
        return NULL;
    }
    return m;
}

static int32_t rebalance_timeout_of(const struct group_join_params *p)
{
    return p->rebalance_timeout_ms < 0 ? p->session_timeout_ms : p->rebalance_timeout_ms;
}

static void add_member_and_rebalance(struct group_coordinator *gc, struct group *g, char *id,
                                     const struct group_join_params *p, int64_t now_ms, group_join_fn done,
                                     void *arg)
{
    struct group_member *m = member_new(id, p);
    if (!m) {
        answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    m->session_timeout_ms = p->session_timeout_ms;
    m->rebalance_timeout_ms = rebalance_timeout_of(p);
    m->heartbeat_deadline_ms = now_ms + p->session_timeout_ms;
    m->is_new = true;
    m->join_done = done;
    m->join_arg = arg;
    if (g->member_count == 0) {
        free(g->protocol_type);
        g->protocol_type = group_strdup_kstr(p->protocol_type);
    }
    if (!g->leader_id)
        g->leader_id = strdup(m->id);
    struct group_member **tail = &g->members;
    while (*tail)
        tail = &(*tail)->next;
    *tail = m;
    g->member_count++;
    if (g->state == GROUP_PREPARING_REBALANCE && g->initial_delay)
        g->joined_during_delay = true;
    maybe_prepare_rebalance(gc, g, now_ms);
    try_complete_join(gc, g, now_ms);
}

static void update_member_and_rebalance(struct group_coordinator *gc, struct group *g, struct group_member *m,
                                        const struct group_join_params *p, int64_t now_ms, group_join_fn done,
                                        void *arg)
{
    struct member_protocol *protocols = protocols_copy(p->protocols, p->protocol_count);
    if (!protocols) {
        answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, m->id);
        return;
    }
    member_answer_join_error(m, KAFKA_REBALANCE_IN_PROGRESS); /* an earlier join it gave up on */
    protocols_free(m->protocols, m->protocol_count);
    m->protocols = protocols;
    m->protocol_count = p->protocol_count;
    m->session_timeout_ms = p->session_timeout_ms;
    m->rebalance_timeout_ms = rebalance_timeout_of(p);
    m->join_done = done;
    m->join_arg = arg;
    maybe_prepare_rebalance(gc, g, now_ms);
    try_complete_join(gc, g, now_ms);
}

/* Kafka's rule for a static member rejoining a Stable group: take its new
 * protocols, and rebalance only if they change the protocol the group would
 * select (a Java consumer's metadata carries its owned partitions and
 * generation, so it differs on every restart). False: rebalance. */
static bool stable_without_rebalance(struct group *g, struct group_member *m, const struct group_join_params *p)
{
    if (protocols_equal(m, p))
        return true;
    struct member_protocol *protocols = protocols_copy(p->protocols, p->protocol_count);
    if (!protocols)
        return false;
    protocols_free(m->protocols, m->protocol_count);
    m->protocols = protocols;
    m->protocol_count = p->protocol_count;
    char *selected = select_protocol(g);
    bool same = selected && g->protocol_name && strcmp(selected, g->protocol_name) == 0;
    free(selected);
    return same;
}

/* Kafka's mapping of a failed group write to what the members are told. */
static int16_t write_error_for(int16_t storage_error)
{
    switch (storage_error) {
    case KAFKA_NOT_LEADER_OR_FOLLOWER:
    case KAFKA_KAFKA_STORAGE_ERROR: return KAFKA_NOT_COORDINATOR;
    case KAFKA_MESSAGE_TOO_LARGE:
    case KAFKA_RECORD_LIST_TOO_LARGE: return KAFKA_UNKNOWN_SERVER_ERROR;
    default: return KAFKA_COORDINATOR_NOT_AVAILABLE;
    }
}

/* A static member's new member id on its way to __consumer_offsets. */
struct static_rejoin_store {
    struct group_coordinator *gc;
    char *group_id;
    char *member_id;
};

/* As Kafka, a static member that took its place back without a rebalance
 * hears so only once its new member id is durable: after a crash the group
 * must not know the member by an id it was never told about. */
static void static_rejoin_stored(void *arg, int16_t error)
{
    struct static_rejoin_store *st = arg;
    struct group *g = group_find(st->gc, kstr_from_cstr(st->group_id));
    struct group_member *m = g ? group_member_find(g, kstr_from_cstr(st->member_id)) : NULL;
    /* A rebalance started meanwhile answers the join itself, with its generation. */
    if (m && m->join_done && g->state == GROUP_STABLE) {
        group_join_fn done = m->join_done;
        void *done_arg = m->join_arg;
        m->join_done = NULL;
        if (error) {
            log_warn("group", "storing the new member id of static member %s of group %s failed with error %d",
                     m->instance_id, g->id, error);
            answer_join_error(done, done_arg, write_error_for(error), m->id);
        } else {
            answer_join_current(g, m, true, done, done_arg);
        }
    }
    free(st->group_id);
    free(st->member_id);
    free(st);
}

static void store_static_rejoin(struct group_coordinator *gc, struct group *g, struct group_member *m,
                                int64_t now_ms, group_join_fn done, void *arg)
{
    struct static_rejoin_store *st = calloc(1, sizeof *st);
    char *group_id = strdup(g->id), *member_id = strdup(m->id);
    if (!st || !group_id || !member_id) {
        free(st);
        free(group_id);
        free(member_id);
        answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, m->id);
        return;
    }
    *st = (struct static_rejoin_store){gc, group_id, member_id};
    m->join_done = done;
    m->join_arg = arg;
    group_store_metadata(gc, g, now_ms, static_rejoin_stored, st);
}

/* A static member came back with an empty member id: it takes over its old entry under a new id. */
static void replace_static_member(struct group_coordinator *gc, struct group *g, struct group_member *m,
                                  const struct group_join_params *p, int64_t now_ms, group_join_fn done,
                                  void *arg)
{
    char *id = new_member_id(p->client_id);
    if (!id) {
        answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    member_answer_join_error(m, KAFKA_FENCED_INSTANCE_ID);
    member_answer_sync_error(m, KAFKA_FENCED_INSTANCE_ID);
    log_info("group", "static member %s of group %s rejoined: member id %s replaces %s", m->instance_id, g->id,
             id, m->id);
    if (g->leader_id && strcmp(g->leader_id, m->id) == 0) {
        free(g->leader_id);
        g->leader_id = strdup(id);
    }
    free(m->id);
    m->id = id;
    m->heartbeat_deadline_ms = now_ms + p->session_timeout_ms;
    if (g->state == GROUP_STABLE && stable_without_rebalance(g, m, p)) {
        m->session_timeout_ms = p->session_timeout_ms;
        m->rebalance_timeout_ms = rebalance_timeout_of(p);
        store_static_rejoin(gc, g, m, now_ms, done, arg);
        return;
    }
    update_member_and_rebalance(gc, g, m, p, now_ms, done, arg);
}

/* Kafka's acceptJoiningMember for a member not in the group yet: while a
 * rebalance gathers members, those already rejoined count (the group may be
 * above a lowered limit); otherwise the members. */
static bool room_for_new_member(const struct group_coordinator *gc, const struct group *g)
{
    int32_t max = gc->config.max_group_size;
    if (max <= 0 || g->state == GROUP_EMPTY || g->state == GROUP_DEAD)
        return true;
    if (g->state != GROUP_PREPARING_REBALANCE)
        return g->member_count < max;
    int32_t awaiting = 0;
    for (const struct group_member *m = g->members; m; m = m->next)
        awaiting += m->join_done != NULL;
    return awaiting < max;
}

static void join_unknown_member(struct group_coordinator *gc, struct group *g, const struct group_join_params *p,
                                int64_t now_ms, group_join_fn done, void *arg)
{
    struct group_member *existing = group_member_find_static(g, p->group_instance_id);
    if (existing) {
        replace_static_member(gc, g, existing, p, now_ms, done, arg);
        return;
    }
    if (!room_for_new_member(gc, g)) {
        answer_join_error(done, arg, KAFKA_GROUP_MAX_SIZE_REACHED, "");
        return;
    }
    char *id = new_member_id(p->client_id);
    if (!id) {
        answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
        return;
    }
    if (p->require_known_member_id && kstr_is_null(p->group_instance_id)) {
        struct pending_member *pm = calloc(1, sizeof *pm);
        if (!pm) {
            free(id);
            answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
            return;
        }
        pm->id = id;
        pm->deadline_ms = now_ms + p->session_timeout_ms;
        pm->next = g->pending;
        g->pending = pm;
        answer_join_error(done, arg, KAFKA_MEMBER_ID_REQUIRED, id);
        return;
    }
    add_member_and_rebalance(gc, g, id, p, now_ms, done, arg);
}

static void join_known_member(struct group_coordinator *gc, struct group *g, const struct group_join_params *p,
                              int64_t now_ms, group_join_fn done, void *arg)
{
    if (pending_take(g, p->member_id)) {
        if (!room_for_new_member(gc, g)) { /* checked again: others may have joined since its first try */
            answer_join_error(done, arg, KAFKA_GROUP_MAX_SIZE_REACHED, "");
            try_complete_join(gc, g, now_ms); /* the rebalance no longer waits for it */
            return;
        }
        char *id = group_strdup_kstr(p->member_id);
        if (!id) {
            answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
            return;
        }
        add_member_and_rebalance(gc, g, id, p, now_ms, done, arg);
        return;
    }
    struct group_member *by_instance = group_member_find_static(g, p->group_instance_id);
    if (by_instance && !kstr_eq_cstr(p->member_id, by_instance->id)) {
        answer_join_error(done, arg, KAFKA_FENCED_INSTANCE_ID, "");
        return;
    }
    struct group_member *m = group_member_find(g, p->member_id);
    if (!m || g->state == GROUP_EMPTY || g->state == GROUP_DEAD) {
        answer_join_error(done, arg, KAFKA_UNKNOWN_MEMBER_ID, "");
        return;
    }
    bool is_leader = g->leader_id && strcmp(g->leader_id, m->id) == 0;
    switch (g->state) {
    case GROUP_COMPLETING_REBALANCE:
        if (protocols_equal(m, p)) {
            answer_join_current(g, m, false, done, arg);
            return;
        }
        break;
    case GROUP_STABLE:
        if (!is_leader && protocols_equal(m, p)) {
            m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
            answer_join_current(g, m, false, done, arg);
            return;
        }
        break;
    default:
        break;
    }
    update_member_and_rebalance(gc, g, m, p, now_ms, done, arg);
}

void group_join(struct group_coordinator *gc, const struct group_join_params *p, int64_t now_ms, group_join_fn done,
                void *arg)
{
    if (kstr_is_null(p->group_id) || p->group_id.len == 0) {
        answer_join_error(done, arg, KAFKA_INVALID_GROUP_ID, "");
        return;
    }
    if (p->session_timeout_ms < gc->config.min_session_timeout_ms ||
        p->session_timeout_ms > gc->config.max_session_timeout_ms) {
        answer_join_error(done, arg, KAFKA_INVALID_SESSION_TIMEOUT, "");
        return;
    }
    bool unknown = kstr_is_null(p->member_id) || p->member_id.len == 0;
    struct group *g = group_find(gc, p->group_id);
    if (!g) {
        if (!unknown) {
            answer_join_error(done, arg, KAFKA_UNKNOWN_MEMBER_ID, "");
            return;
        }
        g = group_find_or_create(gc, p->group_id, now_ms);
        if (!g) {
            answer_join_error(done, arg, KAFKA_UNKNOWN_SERVER_ERROR, "");
            return;
        }
    }
    if (g->state == GROUP_DEAD) {
        answer_join_error(done, arg, KAFKA_COORDINATOR_NOT_AVAILABLE, "");
        return;
    }
    if (g->kind == GROUP_KIND_CONSUMER) {
        if (g->consumer && g->consumer->member_count > 0) {
            answer_join_error(done, arg, KAFKA_INCONSISTENT_GROUP_PROTOCOL, "");
            return;
        }
        group_consumer_free(g->consumer); /* an empty consumer group turns classic again */
        g->consumer = NULL;
        g->kind = GROUP_KIND_CLASSIC;
        free(g->protocol_type);
        g->protocol_type = NULL;
    }
    if (!group_supports(g, p)) {
        answer_join_error(done, arg, KAFKA_INCONSISTENT_GROUP_PROTOCOL, "");
    } else if (unknown) {
        join_unknown_member(gc, g, p, now_ms, done, arg);
        return;
    } else {
        join_known_member(gc, g, p, now_ms, done, arg);
        return;
    }
    /* A group created by this failed join holds nothing: drop it. */
    if (g->state == GROUP_EMPTY && g->member_count == 0 && !g->pending && g->offset_count == 0 && !g->protocol_type &&
        !group_has_pending_commits(g))
        group_remove(gc, g);
}

/* ---- SyncGroup, Heartbeat, LeaveGroup ---- */

int16_t group_check_member(struct group *g, struct kstr member_id, struct kstr instance_id, int32_t generation)
{
    if (pending_has(g, member_id))
        return KAFKA_UNKNOWN_MEMBER_ID;
    struct group_member *by_instance = group_member_find_static(g, instance_id);
    if (by_instance && !kstr_eq_cstr(member_id, by_instance->id))
        return KAFKA_FENCED_INSTANCE_ID;
    if (!by_instance && !kstr_is_null(instance_id))
        return KAFKA_UNKNOWN_MEMBER_ID; /* Kafka's validateMember: no static member holds it */
    struct group_member *m = group_member_find(g, member_id);
    if (!m)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (m->instance_id && !kstr_is_null(instance_id) && !kstr_eq_cstr(instance_id, m->instance_id))
        return KAFKA_FENCED_INSTANCE_ID;
    if (generation != g->generation)
        return KAFKA_ILLEGAL_GENERATION;
    return 0;
}

static int set_assignments(struct group *g, const struct group_sync_params *p)
{
    for (struct group_member *m = g->members; m; m = m->next) {
        free(m->assignment);
        m->assignment = NULL;
        m->assignment_len = 0;
        for (int32_t i = 0; i < p->assignment_count; i++) {
            const struct group_assignment *a = &p->assignments[i];
            if (!kstr_eq_cstr(a->member_id, m->id) || a->assignment.len <= 0)
                continue;
            m->assignment = malloc((size_t)a->assignment.len);
            if (!m->assignment)
                return -1;
            memcpy(m->assignment, a->assignment.ptr, (size_t)a->assignment.len);
            m->assignment_len = a->assignment.len;
            break;
        }
    }
    return 0;
}

/* The leader's assignment on its way to __consumer_offsets. */
struct assignment_store {
    struct group_coordinator *gc;
    char *group_id;
    int32_t generation;
    int64_t now_ms;
};

/*
 * The assignment is durable (or could not be written): as Kafka, the group
 * turns Stable and the members get their assignments only now, so that a
 * crash cannot take back an assignment a consumer already acted on. A
 * failed write sends every waiting member the error and rebalances.
 */
static void assignment_stored(void *arg, int16_t error)
{
    struct assignment_store *st = arg;
    struct group *g = group_find(st->gc, kstr_from_cstr(st->group_id));
    if (g && g->state == GROUP_COMPLETING_REBALANCE && g->generation == st->generation) {
        if (error) {
            log_warn("group", "storing the assignment of group %s (generation %d) failed with error %d",
                     g->id, g->generation, error);
            clear_assignments(g);
            for (struct group_member *m = g->members; m; m = m->next)
                member_answer_sync_error(m, write_error_for(error));
            prepare_rebalance(st->gc, g, st->now_ms);
        } else {
            group_set_state(g, GROUP_STABLE, st->now_ms);
            for (struct group_member *m = g->members; m; m = m->next) {
                m->heartbeat_deadline_ms = st->now_ms + m->session_timeout_ms;
                if (!m->sync_done)
                    continue;
                group_sync_fn cb = m->sync_done;
                void *cb_arg = m->sync_arg;
                m->sync_done = NULL;
                answer_sync(cb, cb_arg, 0, g, m);
            }
        }
    }
    free(st->group_id);
    free(st);
}

static void store_assignment(struct group_coordinator *gc, struct group *g, int64_t now_ms)
{
    struct assignment_store *st = calloc(1, sizeof *st);
    char *id = strdup(g->id);
    if (!st || !id) {
        free(st);
        free(id);
        clear_assignments(g);
        for (struct group_member *m = g->members; m; m = m->next)
            member_answer_sync_error(m, KAFKA_UNKNOWN_SERVER_ERROR);
        prepare_rebalance(gc, g, now_ms);
        return;
    }
    *st = (struct assignment_store){gc, id, g->generation, now_ms};
    group_store_metadata(gc, g, now_ms, assignment_stored, st);
}

void group_sync(struct group_coordinator *gc, const struct group_sync_params *p, int64_t now_ms, group_sync_fn done,
                void *arg)
{
    struct group *g = group_find(gc, p->group_id);
    if (!g) {
        answer_sync(done, arg, KAFKA_UNKNOWN_MEMBER_ID, NULL, NULL);
        return;
    }
    if (g->state == GROUP_DEAD) {
        answer_sync(done, arg, KAFKA_COORDINATOR_NOT_AVAILABLE, NULL, NULL);
        return;
    }
    int16_t err = group_check_member(g, p->member_id, p->group_instance_id, p->generation);
    if (err) {
        answer_sync(done, arg, err, NULL, NULL);
        return;
    }
    if ((!kstr_is_null(p->protocol_type) && !kstr_eq_cstr(p->protocol_type, g->protocol_type)) ||
        (!kstr_is_null(p->protocol_name) && !kstr_eq_cstr(p->protocol_name, g->protocol_name))) {
        answer_sync(done, arg, KAFKA_INCONSISTENT_GROUP_PROTOCOL, NULL, NULL);
        return;
    }
    struct group_member *m = group_member_find(g, p->member_id);
    switch (g->state) {
    case GROUP_EMPTY:
    case GROUP_DEAD:
        answer_sync(done, arg, KAFKA_UNKNOWN_MEMBER_ID, NULL, NULL);
        return;
    case GROUP_PREPARING_REBALANCE:
        answer_sync(done, arg, KAFKA_REBALANCE_IN_PROGRESS, NULL, NULL);
        return;
    case GROUP_STABLE:
        m->awaiting_sync = false;
        m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
        answer_sync(done, arg, 0, g, m);
        return;
    case GROUP_COMPLETING_REBALANCE:
        break;
    }
    member_answer_sync_error(m, KAFKA_REBALANCE_IN_PROGRESS); /* an earlier sync it gave up on */
    m->awaiting_sync = false;
    m->sync_done = done;
    m->sync_arg = arg;
    m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
    if (!g->leader_id || strcmp(g->leader_id, m->id) != 0)
        return;
    if (set_assignments(g, p) < 0) {
        clear_assignments(g);
        for (struct group_member *o = g->members; o; o = o->next)
            member_answer_sync_error(o, KAFKA_UNKNOWN_SERVER_ERROR);
        prepare_rebalance(gc, g, now_ms);
        return;
    }
    store_assignment(gc, g, now_ms);
}

int16_t group_heartbeat(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                        struct kstr group_instance_id, int32_t generation, int64_t now_ms)
{
    struct group *g = group_find(gc, group_id);
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (g->state == GROUP_DEAD)
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    if (g->state == GROUP_EMPTY)
        return KAFKA_UNKNOWN_MEMBER_ID;
    int16_t err = group_check_member(g, member_id, group_instance_id, generation);
    if (err)
        return err;
    struct group_member *m = group_member_find(g, member_id);
    m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
    return g->state == GROUP_PREPARING_REBALANCE ? KAFKA_REBALANCE_IN_PROGRESS : 0;
}

int16_t group_leave(struct group_coordinator *gc, struct kstr group_id, struct kstr member_id,
                    struct kstr group_instance_id, int64_t now_ms, int16_t *group_error)
{
    *group_error = 0;
    struct group *g = group_find(gc, group_id);
    if (!g)
        return KAFKA_UNKNOWN_MEMBER_ID;
    if (g->state == GROUP_DEAD) {
        *group_error = KAFKA_COORDINATOR_NOT_AVAILABLE;
        return KAFKA_COORDINATOR_NOT_AVAILABLE;
    }
    struct group_member *m;
    if (!kstr_is_null(group_instance_id)) {
        m = group_member_find_static(g, group_instance_id);
        if (!m)
            return KAFKA_UNKNOWN_MEMBER_ID;
        if (!kstr_is_null(member_id) && member_id.len > 0 && !kstr_eq_cstr(member_id, m->id))
            return KAFKA_FENCED_INSTANCE_ID;
    } else {
        if (pending_take(g, member_id)) {
            try_complete_join(gc, g, now_ms);
            return 0;
        }
        m = group_member_find(g, member_id);
        if (!m)
            return KAFKA_UNKNOWN_MEMBER_ID;
    }
    log_info("group", "member %s has left group %s through explicit LeaveGroup", m->id, g->id);
    remove_member_and_update(gc, g, m, now_ms);
    return 0;
}
