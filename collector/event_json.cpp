/* SPDX-License-Identifier: MIT */
/* event_json.cpp: event lines read by simdjson's DOM parser (the whole line
 * is validated before anything is walked), behind event_json.h. */
#include "event_json.h"

#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

struct event_json {
    simdjson::dom::parser parser;
    uint8_t *buf;  /* a copy of the line, with simdjson's padding after it */
    size_t cap;
};

event_json_t *event_json_new(size_t max_len, size_t max_depth)
{
    event_json_t *self = new (std::nothrow) event_json_t;
    if (!self)
        return nullptr;
    self->cap = max_len;
    self->buf = static_cast<uint8_t *>(std::calloc(1, max_len + simdjson::SIMDJSON_PADDING));
    if (!self->buf || self->parser.allocate(max_len, max_depth) != simdjson::SUCCESS) {
        event_json_destroy(&self);
        return nullptr;
    }
    return self;
}

void event_json_destroy(event_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    std::free((*self_p)->buf);
    delete *self_p;
    *self_p = nullptr;
}

static void s_val(simdjson::dom::element e, event_val_t *v)
{
    *v = event_val_t{};
    switch (e.type()) {
        case simdjson::dom::element_type::STRING:
            v->kind = EVENT_STRING;
            v->s = e.get_c_str().value_unsafe();
            break;
        case simdjson::dom::element_type::INT64:
            v->kind = EVENT_INT;
            v->i = e.get_int64().value_unsafe();
            break;
        case simdjson::dom::element_type::UINT64: /* beyond INT64_MAX: json-c's clamp */
            v->kind = EVENT_INT;
            v->i = INT64_MAX;
            break;
        case simdjson::dom::element_type::DOUBLE:
            v->kind = EVENT_DOUBLE;
            v->d = e.get_double().value_unsafe();
            break;
        case simdjson::dom::element_type::BOOL:
            v->kind = EVENT_BOOL;
            v->i = e.get_bool().value_unsafe();
            break;
        case simdjson::dom::element_type::OBJECT:
            v->kind = EVENT_OBJECT;
            break;
        default:
            v->kind = EVENT_OTHER;
            break;
    }
}

int event_json_walk(event_json_t *self, const char *buf, size_t len, event_json_member_fn fn,
        void *ctx)
{
    if (len > self->cap)
        return -1;
    std::memcpy(self->buf, buf, len);
    std::memset(self->buf + len, 0, simdjson::SIMDJSON_PADDING);
    simdjson::dom::element doc;
    simdjson::dom::object top;
    if (self->parser.parse(self->buf, len, false).get(doc) || doc.get_object().get(top))
        return -1;
    /* DOM strings and keys are NUL-terminated in the parser's buffer. */
    for (simdjson::dom::key_value_pair m : top) {
        event_val_t v;
        s_val(m.value, &v);
        int id = fn(ctx, -1, m.key.data(), m.key.size(), &v);
        simdjson::dom::object inner;
        if (id < 0 || v.kind != EVENT_OBJECT || m.value.get_object().get(inner))
            continue;
        for (simdjson::dom::key_value_pair sub : inner) {
            s_val(sub.value, &v);
            fn(ctx, id, sub.key.data(), sub.key.size(), &v);
        }
    }
    return 0;
}
