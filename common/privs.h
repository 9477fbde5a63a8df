/* SPDX-License-Identifier: MIT */
/* privs.h: giving up privileges once the capture is open.
 *
 * Capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode)
 * only to open the socket; everything after runs without them. The
 * sensor calls privs_drop() right after opening a live capture, or before
 * reading files. The only file that includes cap-ng.h. */
#ifndef PINHOLE_PRIVS_H
#define PINHOLE_PRIVS_H

#include <stddef.h>

/* With user set: switches the whole process (every thread: the kernel
 * clears a thread's capabilities when its uids leave 0, and glibc applies
 * setuid to all threads) to that user's uid and gid, without supplementary
 * groups, and keeps no capability, not even in the bounding set. Needs
 * root, unless user is who the process already runs as.
 * With user NULL: as root, nothing; as another user, drops the capabilities
 * it was started with (systemd's AmbientCapabilities) from this thread.
 * Logs what it did. Returns 0, or PINHOLE_EINVAL with why in err. */
int privs_drop(const char *user, char *err, size_t errlen);

#endif
