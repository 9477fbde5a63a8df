/* SPDX-License-Identifier: MIT */
/* parse_ahead.c: batches read on a thread of their own, in hand-over order. */
#include "parse_ahead.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"

typedef enum { SLOT_FREE, SLOT_TAKEN, SLOT_QUEUED, SLOT_READING, SLOT_READ } slot_state_t;

typedef struct {
    batch_t *b;
    const char *body;
    size_t len;
    uint64_t count, order;
    slot_state_t state;
    int rc;
} slot_t;

struct parse_ahead {
    pthread_mutex_t lock; /* every slot's state, order and stop */
    pthread_cond_t work, done;
    pthread_t thread;
    bool started, stop;
    slot_t *slots;
    size_t depth;
    uint64_t order;
};

/* The oldest queued slot, or NULL. Called locked. */
static slot_t *s_oldest(parse_ahead_t *self)
{
    slot_t *best = NULL;
    for (size_t i = 0; i < self->depth; i++)
        if (self->slots[i].state == SLOT_QUEUED && (!best || self->slots[i].order < best->order))
            best = &self->slots[i];
    return best;
}

static void *s_run(void *arg)
{
    parse_ahead_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        slot_t *s = s_oldest(self);
        if (!s) {
            if (self->stop)
                break;
            pthread_cond_wait(&self->work, &self->lock);
            continue;
        }
        s->state = SLOT_READING;
        pthread_mutex_unlock(&self->lock);
        int rc = batch_parse(s->b, s->body, s->len, s->count);
        pthread_mutex_lock(&self->lock);
        s->rc = rc;
        s->state = SLOT_READ;
        pthread_cond_broadcast(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

parse_ahead_t *parse_ahead_new(size_t depth)
{
    parse_ahead_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work, NULL);
    pthread_cond_init(&self->done, NULL);
    self->depth = depth ? depth : 1;
    self->slots = calloc(self->depth, sizeof *self->slots);
    bool ok = self->slots != NULL;
    for (size_t i = 0; ok && i < self->depth; i++)
        ok = (self->slots[i].b = batch_new()) != NULL;
    if (ok && pthread_create(&self->thread, NULL, s_run, self) == 0)
        self->started = true;
    else
        parse_ahead_destroy(&self);
    return self;
}

void parse_ahead_destroy(parse_ahead_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    parse_ahead_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->lock);
        self->stop = true;
        pthread_cond_broadcast(&self->work);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    for (size_t i = 0; self->slots && i < self->depth; i++)
        batch_destroy(&self->slots[i].b);
    free(self->slots);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* b's slot. Called locked. */
static slot_t *s_slot(parse_ahead_t *self, const batch_t *b)
{
    for (size_t i = 0; i < self->depth; i++)
        if (self->slots[i].b == b)
            return &self->slots[i];
    PINHOLE_ASSERT(!"a batch of another parse_ahead");
    return NULL;
}

batch_t *parse_ahead_free(parse_ahead_t *self)
{
    batch_t *b = NULL;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->depth && !b; i++)
        if (self->slots[i].state == SLOT_FREE) {
            self->slots[i].state = SLOT_TAKEN;
            b = self->slots[i].b;
        }
    pthread_mutex_unlock(&self->lock);
    return b;
}

void parse_ahead_submit(parse_ahead_t *self, batch_t *b, const char *body, size_t len,
        uint64_t count)
{
    pthread_mutex_lock(&self->lock);
    slot_t *s = s_slot(self, b);
    PINHOLE_ASSERT(s->state == SLOT_TAKEN);
    s->body = body;
    s->len = len;
    s->count = count;
    s->order = self->order++;
    s->state = SLOT_QUEUED;
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
}

int parse_ahead_wait(parse_ahead_t *self, batch_t *b)
{
    pthread_mutex_lock(&self->lock);
    slot_t *s = s_slot(self, b);
    PINHOLE_ASSERT(s->state >= SLOT_QUEUED);
    while (s->state != SLOT_READ)
        pthread_cond_wait(&self->done, &self->lock);
    int rc = s->rc;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void parse_ahead_release(parse_ahead_t *self, batch_t *b)
{
    pthread_mutex_lock(&self->lock);
    s_slot(self, b)->state = SLOT_FREE;
    pthread_mutex_unlock(&self->lock);
}
