/*
 * Authentication in a [conn]: auth, local_auth, remote_auth and the
 * credentials each needs (psk, psk_file; key, cert, cacert,
 * remote_pubkey), read from files as the configuration itself is.
 */
#include "daemon/config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/pubkey.h"
#include "crypto/secret.h"
#include "crypto/x509.h"

/* A file named in the configuration: relative names are taken from its directory. */
static void conf_path(const struct parse *ps, const char *value, char *path, size_t len)
{
	if (value[0] == '/' || !strchr(ps->name, '/')) {
		snprintf(path, len, "%s", value);
	} else {
		const char *slash = strrchr(ps->name, '/');

		snprintf(path, len, "%.*s/%s", (int)(slash - ps->name), ps->name, value);
	}
}

static int read_psk_file(struct parse *ps, const struct entry *e, struct secret **out)
{
	char path[PATH_MAX];
	uint8_t buf[CONFIG_PSK_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	conf_path(ps, e->value, path, sizeof(path));
	/* Non-blocking and regular files only: a FIFO or terminal named here
	 * would otherwise block the single-threaded daemon on (re)load. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		cfg_err(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cfg_err(ps, e->line, "%s: %s: not a regular file", e->key, path);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IROTH)
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds a pre-shared key but is readable by everyone (chmod 600)", path);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		if (len == sizeof(buf))
			break;
	}
	if (n < 0) {
		cfg_err(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
		goto out;
	}
	if (len > CONFIG_PSK_FILE_MAX) {
		cfg_err(ps, e->line, "%s: %s: larger than %d octets", e->key, path,
			CONFIG_PSK_FILE_MAX);
		goto out;
	}
	/* One trailing newline is how editors end files, not part of the key. */
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		cfg_err(ps, e->line, "%s: %s: empty", e->key, path);
		goto out;
	}
	*out = secret_dup(buf, len);
	if (!*out) {
		cfg_err(ps, e->line, "out of memory");
		goto out;
	}
	rc = 0;
out:
	crypto_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* psk = (and ppk =) "text" | 0xHEX */
static int parse_psk(struct parse *ps, const struct entry *e, struct secret **out)
{
	uint8_t buf[CONFIG_PSK_FILE_MAX];
	int n;

	if (e->quoted) {
		*out = secret_dup(e->value, strlen(e->value));
	} else if (strncasecmp(e->value, "0x", 2) == 0) {
		n = cfg_parse_hex(e->value + 2, buf, sizeof(buf));
		if (n <= 0) {
			crypto_wipe(buf, sizeof(buf));
			cfg_err(ps, e->line, "%s: bad hex after 0x (an even number of hex digits)",
				e->key);
			return -1;
		}
		*out = secret_dup(buf, (size_t)n);
		crypto_wipe(buf, sizeof(buf));
	} else {
		cfg_err(ps, e->line, "%s: a quoted string or 0x<hex> expected", e->key);
		return -1;
	}
	if (!*out) {
		cfg_err(ps, e->line, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Reads a credential file named by e (cert, key, cacert, remote_pubkey) as
 * psk_file is read: non-blocking, a regular file, at most
 * CONFIG_CRED_FILE_MAX octets. *buf (caller wipes and frees) and the
 * resolved path. -1 with a file:line message.
 */
static int read_cred_file(struct parse *ps, const struct entry *e, bool secret, uint8_t **buf,
			  size_t *len, char *path, size_t pathlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	conf_path(ps, e->value, path, pathlen);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		cfg_err(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cfg_err(ps, e->line, "%s: %s: not a regular file", e->key, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > CONFIG_CRED_FILE_MAX) {
		cfg_err(ps, e->line, "%s: %s: larger than %u octets", e->key, path, CONFIG_CRED_FILE_MAX);
		goto fail;
	}
	if (secret && (st.st_mode & S_IROTH))
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds a private key but is readable by everyone (chmod 600)", path);
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		cfg_err(ps, e->line, "out of memory");
		goto fail;
	}
	while (*len < (size_t)st.st_size &&
	       (n = read(fd, *buf + *len, (size_t)st.st_size - *len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cfg_err(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
			goto fail;
		}
		*len += (size_t)n;
	}
	if (*len == 0) {
		cfg_err(ps, e->line, "%s: %s: empty", e->key, path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (*buf) {
		crypto_wipe(*buf, *len);
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return -1;
}

/* Certificates of a cert or cacert file appended to *list (grown). */
static int load_certs(struct parse *ps, const struct entry *e, struct x509 ***list, size_t *n,
		      size_t max)
{
	char path[PATH_MAX], err[200];
	struct x509 *got[X509_FILE_MAX];
	size_t ngot = 0, len;
	uint8_t *buf;
	int rc = -1;

	if (read_cred_file(ps, e, false, &buf, &len, path, sizeof(path)) < 0)
		return -1;
	if (x509_load(buf, len, got, X509_FILE_MAX, &ngot, err, sizeof(err)) < 0) {
		cfg_err(ps, e->line, "%s: %s: %s", e->key, path, err);
		goto out;
	}
	if (*n + ngot > max) {
		cfg_err(ps, e->line, "%s: more than %zu certificates", e->key, max);
		goto out;
	}
	struct x509 **l = realloc(*list, (*n + ngot) * sizeof(*l));

	if (!l) {
		cfg_err(ps, e->line, "out of memory");
		goto out;
	}
	*list = l;
	for (size_t i = 0; i < ngot; i++)
		l[(*n)++] = got[i];
	ngot = 0;
	rc = 0;
out:
	while (ngot)
		x509_free(got[--ngot]);
	free(buf);
	return rc;
}

static int parse_auth_value(struct parse *ps, const struct entry *e, enum config_auth *out)
{
	if (strcmp(e->value, "psk") == 0) {
		*out = CONFIG_AUTH_PSK;
	} else if (strcmp(e->value, "pubkey") == 0) {
		*out = CONFIG_AUTH_PUBKEY;
	} else {
		cfg_err(ps, e->line, "%s: '%s' is not psk or pubkey", e->key, e->value);
		return -1;
	}
	return 0;
}

/* Keys that belong to one side's pubkey authentication. */
static int only_with(struct parse *ps, const struct section *s, const char *const *keys,
		     const char *which)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; keys[k]; k++) {
			if (strcmp(s->e[i].key, keys[k]) == 0) {
				cfg_err(ps, s->e[i].line, "%s is only used with %s = pubkey", keys[k],
					which);
				return -1;
			}
		}
	}
	return 0;
}

/* Our side of pubkey authentication: key, cert (chain), local_id from or in the certificate. */
static int interpret_local_pubkey(struct parse *ps, const struct section *s, unsigned auth_line,
				  struct conn_cfg *c)
{
	const struct entry *ke = cfg_find_entry(s, "key"), *ce = cfg_find_entry(s, "cert");
	const struct entry *pad = cfg_find_entry(s, "rsa_padding"), *lid = cfg_find_entry(s, "local_id");
	char path[PATH_MAX], err[200];
	uint8_t *buf;
	size_t len;

	if (!ke) {
		cfg_err(ps, auth_line, "local_auth = pubkey needs key = (and cert =, or the peer pins "
			"our public key)");
		return -1;
	}
	if (read_cred_file(ps, ke, true, &buf, &len, path, sizeof(path)) < 0)
		return -1;
	c->key = privkey_load(buf, len, err, sizeof(err));
	crypto_wipe(buf, len);
	free(buf);
	if (!c->key) {
		cfg_err(ps, ke->line, "key: %s: %s", path, err);
		return -1;
	}
	if (pad) {
		if (strcmp(pad->value, "pss") != 0 && strcmp(pad->value, "pkcs1") != 0) {
			cfg_err(ps, pad->line, "rsa_padding: '%s' is not pss or pkcs1", pad->value);
			return -1;
		}
		c->rsa_pkcs1 = strcmp(pad->value, "pkcs1") == 0;
	}
	if (!ce)
		return 0;
	if (load_certs(ps, ce, &c->certs, &c->n_certs, X509_FILE_MAX) < 0)
		return -1;
	conf_path(ps, ce->value, path, sizeof(path));
	if (!pubkey_equal(privkey_public(c->key), x509_pubkey(c->certs[0]))) {
		cfg_err(ps, ke->line, "key: %s does not match the certificate %s ('%s')", ke->value,
			path, x509_subject_text(c->certs[0]));
		return -1;
	}
	size_t sl;
	const uint8_t *subj = x509_subject_der(c->certs[0], &sl);

	if (!c->local_id.type) {
		/* As strongSwan: without local_id, the certificate's subject is our identity. */
		if (sl > CONFIG_ID_MAX) {
			cfg_err(ps, ce->line, "cert: subject of %s is longer than %d octets: set local_id",
				path, CONFIG_ID_MAX);
			return -1;
		}
		c->local_id.type = ID_DER_ASN1_DN;
		c->local_id.len = (uint16_t)sl;
		memcpy(c->local_id.data, subj, sl);
		return 0;
	}
	/* A peer checks that our identity is in the certificate: so do we, now. */
	if (!x509_matches_id(c->certs[0], c->local_id.type, c->local_id.data, c->local_id.len)) {
		char id[CONFIG_ID_MAX * 2 + 8], san[256];

		config_id_format(&c->local_id, id, sizeof(id));
		x509_san_text(c->certs[0], san, sizeof(san));
		cfg_err(ps, lid ? lid->line : ce->line, "local_id '%s' is not in the certificate %s "
			"(subject '%s', subjectAltName '%s')", id, path,
			x509_subject_text(c->certs[0]), san);
		return -1;
	}
	if (c->local_id.type == ID_DER_ASN1_DN) {
		/* Send the subject exactly as the certificate encodes it. */
		c->local_id.len = (uint16_t)sl;
		memcpy(c->local_id.data, subj, sl);
	}
	return 0;
}

/* The peer's side: CA certificates and/or a pinned public key. */
static int interpret_remote_pubkey(struct parse *ps, const struct section *s, unsigned auth_line,
				   struct conn_cfg *c)
{
	const struct entry *rp = cfg_find_entry(s, "remote_pubkey");
	char path[PATH_MAX], err[200];

	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, "cacert") == 0 &&
		    load_certs(ps, &s->e[i], &c->cacerts, &c->n_cacerts, CONFIG_CACERTS_MAX) < 0)
			return -1;
	}
	if (rp) {
		uint8_t *buf;
		size_t len;

		if (read_cred_file(ps, rp, false, &buf, &len, path, sizeof(path)) < 0)
			return -1;
		c->remote_pubkey = pubkey_load(buf, len, err, sizeof(err));
		free(buf);
		if (!c->remote_pubkey) {
			cfg_err(ps, rp->line, "remote_pubkey: %s: %s", path, err);
			return -1;
		}
	}
	if (!c->n_cacerts && !c->remote_pubkey) {
		cfg_err(ps, auth_line, "remote_auth = pubkey needs cacert = or remote_pubkey =");
		return -1;
	}
	return 0;
}

/* auth, local_auth, remote_auth and what each needs. local_id is already parsed. */
int cfg_interpret_auth(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	static const char *const local_keys[] = {"key", "cert", "rsa_padding", NULL};
	static const char *const remote_keys[] = {"cacert", "remote_pubkey", NULL};
	const struct entry *a = cfg_find_entry(s, "auth"), *la = cfg_find_entry(s, "local_auth");
	const struct entry *ra = cfg_find_entry(s, "remote_auth");
	const struct entry *psk = cfg_find_entry(s, "psk"), *pf = cfg_find_entry(s, "psk_file");

	if (a && parse_auth_value(ps, a, &c->local_auth) < 0)
		return -1;
	c->remote_auth = c->local_auth;
	if ((la && parse_auth_value(ps, la, &c->local_auth) < 0) ||
	    (ra && parse_auth_value(ps, ra, &c->remote_auth) < 0))
		return -1;
	if (!c->local_auth || !c->remote_auth) {
		if (!a && !la && !ra)
			cfg_err(ps, s->line, "[conn %s]: auth missing (auth = psk or pubkey)", s->name);
		else
			cfg_err(ps, s->line, "[conn %s]: %s missing (auth = sets both sides)", s->name,
				!c->local_auth ? "local_auth" : "remote_auth");
		return -1;
	}
	const struct entry *le = la ? la : a, *re = ra ? ra : a;
	unsigned lline = le->line, rline = re->line;

	if (c->local_auth == CONFIG_AUTH_PSK || c->remote_auth == CONFIG_AUTH_PSK) {
		if (psk && pf) {
			cfg_err(ps, pf->line, "psk and psk_file both given");
			return -1;
		}
		if (!psk && !pf) {
			const struct entry *pe = c->local_auth == CONFIG_AUTH_PSK ? le : re;

			cfg_err(ps, pe->line, "%s = psk needs psk = or psk_file =", pe->key);
			return -1;
		}
		if (psk ? parse_psk(ps, psk, &c->psk) < 0 : read_psk_file(ps, pf, &c->psk) < 0)
			return -1;
	} else if (psk || pf) {
		cfg_err(ps, (psk ? psk : pf)->line, "%s given, but neither side uses psk authentication",
			psk ? "psk" : "psk_file");
		return -1;
	}
	if (c->local_auth == CONFIG_AUTH_PUBKEY
		    ? interpret_local_pubkey(ps, s, lline, c) < 0
		    : only_with(ps, s, local_keys, "local_auth") < 0)
		return -1;
	if (c->remote_auth == CONFIG_AUTH_PUBKEY
		    ? interpret_remote_pubkey(ps, s, rline, c) < 0
		    : only_with(ps, s, remote_keys, "remote_auth") < 0)
		return -1;
	return 0;
}

const char *config_auth_name(enum config_auth a)
{
	switch (a) {
	case CONFIG_AUTH_PSK:
		return "psk";
	case CONFIG_AUTH_PUBKEY:
		return "pubkey";
	default:
		return "none";
	}
}

int cfg_interpret_ppk(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	const struct entry *k = cfg_find_entry(s, "ppk"), *kf = cfg_find_entry(s, "ppk_file");
	const struct entry *id = cfg_find_entry(s, "ppk_id");
	const struct entry *req = cfg_find_entry(s, "ppk_required");
	if (k && kf) {
		cfg_err(ps, kf->line, "ppk and ppk_file both given");
		return -1;
	}
	if (!!(k || kf) != !!id) {
		cfg_err(ps, (id ? id : k ? k : kf)->line, "%s needs %s",
			id ? "ppk_id" : (k ? k : kf)->key, id ? "ppk = or ppk_file =" : "ppk_id =");
		return -1;
	}
	if (req) {
		if (strcmp(req->value, "yes") == 0) {
			c->ppk_required = true;
		} else if (strcmp(req->value, "no") != 0) {
			cfg_err(ps, req->line, "ppk_required: '%s' is not yes or no", req->value);
			return -1;
		}
		if (c->ppk_required && !id) {
			cfg_err(ps, req->line, "ppk_required = yes needs ppk_id = and ppk = (or ppk_file =)");
			return -1;
		}
	}
	if (!id)
		return 0;
	if (id->quoted || strncasecmp(id->value, "0x", 2) != 0) {
		size_t n = strlen(id->value);
		if (n == 0 || n > CONFIG_ID_MAX) {
			cfg_err(ps, id->line, "ppk_id: 1 to %d octets", CONFIG_ID_MAX);
			return -1;
		}
		memcpy(c->ppk_id, id->value, n);
		c->ppk_id_len = (uint16_t)n;
	} else {
		int n = cfg_parse_hex(id->value + 2, c->ppk_id, sizeof(c->ppk_id));
		if (n <= 0) {
			cfg_err(ps, id->line, "ppk_id: bad hex after 0x (1 to %d octets)", CONFIG_ID_MAX);
			return -1;
		}
		c->ppk_id_len = (uint16_t)n;
	}
	return k ? parse_psk(ps, k, &c->ppk) : read_psk_file(ps, kf, &c->ppk);
}
