/* SPDX-License-Identifier: MIT */
/* web_assets.h: the dashboard's files (web/), embedded at build time by
 * collector/web_embed.cmake and served by http.c at / (docs/collector.md,
 * "Dashboard"). */
#ifndef PINHOLE_WEB_ASSETS_H
#define PINHOLE_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path; /* "/index.html" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
} web_asset_t;

/* Every file, ended by one whose path is NULL. */
extern const web_asset_t web_assets[];

#endif
