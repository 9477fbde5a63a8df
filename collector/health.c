/* SPDX-License-Identifier: MIT */
/* health.c: the store's writability, behind a mutex (one writer thread,
 * several HTTP readers). */
#include "health.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static health_t s_state;

bool health_store_failed(const char *reason, uint64_t now_us)
{
    pthread_mutex_lock(&s_lock);
    bool first = !s_state.failing;
    if (first) {
        s_state.failing = true;
        s_state.since_us = now_us;
        s_state.episodes++;
    }
    snprintf(s_state.reason, sizeof s_state.reason, "%s", reason ? reason : "unknown");
    s_state.failures++;
    pthread_mutex_unlock(&s_lock);
    return first;
}

bool health_store_ok(void)
{
    pthread_mutex_lock(&s_lock);
    bool was = s_state.failing;
    s_state.failing = false;
    pthread_mutex_unlock(&s_lock);
    return was;
}

void health_get(health_t *out)
{
    pthread_mutex_lock(&s_lock);
    *out = s_state;
    pthread_mutex_unlock(&s_lock);
}
