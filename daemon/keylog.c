/* The IKE SA key log; see keylog.h. */
#include "daemon/keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keymat.h"
#include "crypto/secret.h"
#include "daemon/config.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/names.h"

/* A line: two SPIs, names, four keys of at most 64 + 4 octets in hex. */
#define KEYLOG_LINE_MAX 1024

/* The line is built in a secret (wiped when freed, kept out of core dumps). */
struct line {
	char *buf;
	size_t cap, off;
	bool full;
};

static void put(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (l->off + n >= l->cap) {
		l->full = true;
		return;
	}
	memcpy(l->buf + l->off, s, n);
	l->off += n;
}

static void put_hex(struct line *l, const struct secret *k)
{
	static const char hex[] = "0123456789abcdef";

	put(l, " ");
	if (!k || l->off + 2 * k->len >= l->cap) {
		l->full = true;
		return;
	}
	for (size_t i = 0; i < k->len; i++) {
		l->buf[l->off++] = hex[k->data[i] >> 4];
		l->buf[l->off++] = hex[k->data[i] & 15];
	}
}

/* What an admin does about err: the unit's ProtectSystem=strict mounts / read-only. */
static const char *keylog_hint(int err)
{
	return err == EROFS ? " (a read-only file system: under the systemd unit's "
			      "ProtectSystem=strict its directory needs ReadWritePaths= in a "
			      "drop-in, see xiked(8))" : "";
}

void keylog_warn(const struct xiked_config *cfg)
{
	const char *path = cfg->d.keylog;
	if (!path[0])
		return;
	log_msg(LOG_DMN, LOG_LVL_WARN, "keylog = %s: THE KEYS OF EVERY IKE SA ARE WRITTEN TO THIS "
		"FILE; whoever reads it can decrypt the IKE traffic. For debugging only: remove "
		"keylog = and reload", path);
	/* A read-only file system is said now, not only at the first IKE SA. */
	char dir[sizeof(cfg->d.keylog)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = 0;
	if (access(path, W_OK) != 0 && errno == ENOENT && slash)
		path = dir;
	if (access(path, W_OK) != 0 && errno == EROFS)
		log_msg(LOG_DMN, LOG_LVL_ERROR, "keylog = %s: %s%s", cfg->d.keylog, strerror(EROFS),
			keylog_hint(EROFS));
}

/* Opens path for appending keys: created 0600, no symlink, never readable by others. */
static int keylog_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) != 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

void keylog_ike_sa(const struct ikesa *sa)
{
	const char *path = sa->e->cfg->cfg->d.keylog;
	const struct ike_suite *s = &sa->suite;
	const struct ike_keys *k = &sa->keys;
	struct names_buf nb;
	struct secret *mem;
	struct line line = { .cap = KEYLOG_LINE_MAX }, *l = &line;
	char head[160];
	int fd;

	if (!path[0])
		return;
	mem = secret_new(KEYLOG_LINE_MAX);
	if (!mem)
		return;
	line.buf = (char *)mem->data;
	snprintf(head, sizeof(head), "# conn %s\n%016" PRIx64 " %016" PRIx64 " %s", sa->conn->name,
		 sa->spi_i, sa->spi_r, names_encr(s->encr, &nb));
	put(l, head);
	/* ikedump's key length suffix for ciphers that take one (RFC 7296 3.3.5). */
	if (s->encr_keylen) {
		snprintf(head, sizeof(head), "/%u", s->encr_keylen);
		put(l, head);
	}
	put_hex(l, k->sk_ei);
	put_hex(l, k->sk_er);
	if (!suite_is_aead(s->encr)) {
		put_hex(l, k->sk_ai);
		put_hex(l, k->sk_ar);
		put(l, " ");
		put(l, names_integ(s->integ, &nb));
	}
	put(l, "\n");
	if (l->full) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: keylog: keys too long for a line, not written",
			ikesa_tag(sa));
	} else if ((fd = keylog_open(path)) < 0) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: keylog %s: %s%s", ikesa_tag(sa), path,
			strerror(-fd), keylog_hint(-fd));
	} else {
		ssize_t w = write(fd, l->buf, l->off);

		if (w != (ssize_t)l->off)
			log_msg(LOG_IKE, LOG_LVL_WARN, "%s: keylog %s: %s", ikesa_tag(sa), path,
				w < 0 ? strerror(errno) : "short write");
		else
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: keys written to the keylog",
				ikesa_tag(sa));
		close(fd);
	}
	secret_free(mem);
}
