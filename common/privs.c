/* SPDX-License-Identifier: MIT */
/* privs.c: dropping to an unprivileged user and no capabilities (libcap-ng). */
#include "privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

/* Clears every capability of this thread (ambient ones go with the
 * permitted set) and checks none is left. */
static int s_clear_caps(char *err, size_t errlen)
{
    capng_clear(CAPNG_SELECT_CAPS);
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
        snprintf(err, errlen, "cannot drop the capabilities");
        return PINHOLE_EINVAL;
    }
    return 0;
}

static int s_check_none(const char *who, char *err, size_t errlen)
{
    if (capng_get_caps_process() != 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
        snprintf(err, errlen, "%s: capabilities are left after dropping them", who);
        return PINHOLE_EINVAL;
    }
    return 0;
}

int privs_drop(const char *user, char *err, size_t errlen)
{
    uid_t uid = geteuid();
    if (!user) {
        if (uid == 0)
            return 0;
        capng_get_caps_process();
        if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
            return 0;
        if (s_clear_caps(err, errlen) || s_check_none("uid", err, errlen))
            return PINHOLE_EINVAL;
        log_notice("capabilities dropped (uid %u)", (unsigned)uid);
        return 0;
    }
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "--user %s: %s", user, errno ? strerror(errno) : "no such user");
        return PINHOLE_EINVAL;
    }
    if (pw->pw_uid == 0) {
        snprintf(err, errlen, "--user %s: that is root", user);
        return PINHOLE_EINVAL;
    }
    if (uid == pw->pw_uid) { /* already that user (a systemd unit's User=) */
        if (s_clear_caps(err, errlen) || s_check_none(user, err, errlen))
            return PINHOLE_EINVAL;
    } else {
        if (uid != 0) {
            snprintf(err, errlen, "--user %s: only root can switch users (running as uid %u)",
                    user, (unsigned)uid);
            return PINHOLE_EINVAL;
        }
        capng_clear(CAPNG_SELECT_BOTH);
        int rc = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
                CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
        if (rc != 0) {
            snprintf(err, errlen, "--user %s: cannot switch to uid %u gid %u (libcap-ng %d)",
                    user, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid, rc);
            return PINHOLE_EINVAL;
        }
        if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getegid() != pw->pw_gid) {
            snprintf(err, errlen, "--user %s: the switch did not take", user);
            return PINHOLE_EINVAL;
        }
        if (s_check_none(user, err, errlen))
            return PINHOLE_EINVAL;
    }
    log_notice("running as %s (uid %u, gid %u) with no capabilities", user,
            (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return 0;
}
