/* SPDX-License-Identifier: MIT */
/* keys.c: CURVE certificate files. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "strutil.h"

static const char s_z85[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int keys_is_z85(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!strchr(s_z85, s[n]))
            return 0;
    return n == KEYS_Z85_LEN;
}

/* `key = "value"` with any indentation; value copied into out (n bytes). */
static int s_value(const char *line, const char *key, char *out, size_t n)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        return 0;
    line += k;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line++ != '=')
        return 0;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line++ != '"')
        return 0;
    const char *end = strchr(line, '"');
    if (!end || (size_t)(end - line) >= n)
        return -1;
    memcpy(out, line, (size_t)(end - line));
    out[end - line] = '\0';
    return 1;
}

int keys_load(const char *path, char *public_key, char *secret_key, char *name, char *err,
        size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return PINHOLE_EINVAL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        st.st_mode = 0;
    char line[512], val[128];
    int lineno = 0, got_pub = 0, got_sec = 0;
    if (name)
        name[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int r;
        if ((r = s_value(line, "public-key", val, sizeof val)) != 0 ||
                (secret_key && (r = s_value(line, "secret-key", val, sizeof val)) != 0)) {
            bool sec = strstr(line, "secret-key") != NULL;
            if (r < 0 || !keys_is_z85(val)) {
                snprintf(err, errlen, "%s:%d: %s is not 40 Z85 characters", path, lineno,
                        sec ? "secret-key" : "public-key");
                fclose(f);
                return PINHOLE_EINVAL;
            }
            str_copy(sec ? secret_key : public_key, val, KEYS_Z85_LEN + 1);
            *(sec ? &got_sec : &got_pub) = lineno;
        } else if (name && s_value(line, "name", val, sizeof val) == 1) {
            str_copy(name, val, 64);
        }
    }
    fclose(f);
    if (!got_pub || (secret_key && !got_sec)) {
        snprintf(err, errlen, "%s:%d: no %s", path, lineno, !got_pub ? "public-key" : "secret-key");
        return PINHOLE_EINVAL;
    }
    if (secret_key && (st.st_mode & 077)) {
        /* As ssh does: a secret others can read is no longer a secret. */
        snprintf(err, errlen, "%s: a secret key file open to group or others (mode %04o) "
                "is refused; run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
        return PINHOLE_EINVAL;
    }
    return 0;
}

static int s_write(const char *path, mode_t mode, const char *name, const char *pub,
        const char *sec, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd >= 0 && fchmod(fd, mode) != 0) { /* the mode, whatever the umask */
        close(fd);
        fd = -1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return PINHOLE_EIO;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
    fprintf(f, "#   ****  Generated on %s UTC by pinhole-keygen  ****\n", when);
    fprintf(f, "#   pinhole CURVE %s certificate\n", sec ? "**secret**" : "public");
    fprintf(f, "metadata\n    name = \"%s\"\ncurve\n    public-key = \"%s\"\n", name, pub);
    if (sec)
        fprintf(f, "    secret-key = \"%s\"\n", sec);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return PINHOLE_EIO;
    }
    return 0;
}

int keys_write(const char *dir, const char *name, const char *public_key,
        const char *secret_key, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    if (s_write(path, 0600, name, public_key, secret_key, err, errlen))
        return PINHOLE_EIO;
    snprintf(path, sizeof path, "%s/%s.pub", dir, name);
    return s_write(path, 0644, name, public_key, NULL, err, errlen);
}
