/*
 * libFuzzer target for the configuration parser (daemon/config*.c with the
 * proposal keywords of daemon/proposal_config.c). Input: the text of a
 * xiked.conf file, passed to config_parse() exactly as config_load() would.
 *
 * Checks, each a crash (abort) when violated:
 *  - failure: -1, *out NULL, a "name:line: ..." or "name: ..." message;
 *  - success: what config.h promises of a loaded configuration: every
 *    connection and child is found by name, lists are non-empty, a PSK is
 *    there exactly when an auth method needs it, identities and selectors
 *    format to terminated text, and every proposal written back by
 *    proposal_cfg_format() parses to the same proposal (its documented
 *    contract).
 *
 * psk_file: the parser opens files. Relative paths are taken from the
 * directory of the name passed in, which is a private temporary directory
 * made at start-up holding a few key files (psk, crlf, empty, big, and a
 * sub-directory), so the fuzzer can reach every branch of read_psk_file()
 * without touching anything else. Absolute or "../" paths are still opened
 * read-only; read_psk_file() opens non-blocking and reads only regular
 * files of at most CONFIG_PSK_FILE_MAX + 1 octets, so the worst case is a
 * harmless read of a small file. Do not run this target as a user whose
 * files should not even be read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/rng.h"
#include "crypto/secret.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/proposal_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char name[sizeof(dir) + 16];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_config: %s\n", what);
	abort();
}

static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	(void)l;
	if (!msg)
		die("NULL log message");
}

static void put_file(const char *rel, const void *buf, size_t len, mode_t mode)
{
	char path[sizeof(dir) + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("cannot write the psk_file fixtures");
	chmod(path, mode);
}

static void cleanup(void)
{
	static const char *const files[] = {"psk", "crlf", "empty", "big", "world", "sub/psk"};
	char path[sizeof(dir) + 32];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char big[CONFIG_PSK_FILE_MAX + 100];
	/* Key and certificate files are parsed with libgcrypt, which wants this first. */
	if (crypto_init() != 0)
		die("crypto_init failed");
	snprintf(dir, sizeof(dir), "/tmp/xiked-fuzz-config-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp failed");
	snprintf(name, sizeof(name), "%s/fuzz.conf", dir);
	put_file("psk", "a shared secret\n", 16, 0600);
	put_file("crlf", "key\r\n", 5, 0600);
	put_file("empty", "", 0, 0600);
	memset(big, 'k', sizeof(big));
	put_file("big", big, sizeof(big), 0600);
	put_file("world", "readable by all", 15, 0644);
	char sub[sizeof(dir) + 8];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	if (mkdir(sub, 0700) != 0 && errno != EEXIST)
		die("mkdir failed");
	put_file("sub/psk", "in a sub-directory", 18, 0600);
	atexit(cleanup);
	log_set_sink(sink, NULL);
	log_set_level(LOG_LVL_DEBUG);
	return 0;
}

static void check_text(const char *buf, size_t cap, int n)
{
	if (n < 0 || memchr(buf, 0, cap) == NULL)
		die("formatter left no terminated text");
}

static void check_proposals(const struct proposal_cfg_list *l, enum ike_protocol proto)
{
	if (l->n < 1 || l->n > IKE_PROPOSALS_MAX || !l->p)
		die("proposal list size out of range");
	for (size_t i = 0; i < l->n; i++) {
		const struct proposal_cfg *p = &l->p[i];
		char text[512], err[256];
		struct proposal_cfg_list again = {0};

		if (p->protocol != proto || p->n == 0 || p->n > IKE_TRANSFORMS_MAX)
			die("proposal with a wrong protocol or transform count");
		int n = proposal_cfg_format(p, text, sizeof(text));
		check_text(text, sizeof(text), n);
		if ((size_t)n >= sizeof(text))
			continue; /* truncated: nothing to compare */
		if (proposal_cfg_parse(text, proto, &again, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz_config: '%s': %s\n", text, err);
			die("formatted proposal does not parse");
		}
		if (again.n != 1)
			die("formatted proposal parses to several");
		/* Same transforms; the formatter's canonical order may differ from keyword order. */
		char text2[512];
		proposal_cfg_format(&again.p[0], text2, sizeof(text2));
		if (strcmp(text, text2) != 0 || again.p[0].n != p->n) {
			fprintf(stderr, "fuzz_config: '%s' -> '%s'\n", text, text2);
			die("proposal format/parse is not a fixed point");
		}
		for (size_t a = 0; a < p->n; a++) {
			bool found = false;
			for (size_t b = 0; b < again.p[0].n && !found; b++)
				found = p->t[a].type == again.p[0].t[b].type &&
					p->t[a].id == again.p[0].t[b].id &&
					p->t[a].keylen == again.p[0].t[b].keylen;
			if (!found) {
				fprintf(stderr, "fuzz_config: '%s': type %u id %u keylen %u\n", text,
					p->t[a].type, p->t[a].id, p->t[a].keylen);
				die("formatted proposal lost a transform");
			}
		}
		proposal_cfg_list_free(&again);
	}
}

static void check_ts(const struct ts_cfg_list *l)
{
	if (l->n < 1 || !l->ts)
		die("empty traffic selector list");
	for (size_t i = 0; i < l->n; i++) {
		char buf[128];
		const struct ts_cfg *t = &l->ts[i];
		if (!t->dynamic && t->type != TS_IPV4_ADDR_RANGE && t->type != TS_IPV6_ADDR_RANGE)
			die("selector without a type");
		if (!t->dynamic && (t->start_port > t->end_port ||
				    memcmp(t->start, t->end, t->type == TS_IPV4_ADDR_RANGE ? 4 : 16) > 0))
			die("selector range upside down");
		check_text(buf, sizeof(buf), config_ts_format(t, buf, sizeof(buf)));
	}
}

static void check_config(const struct xiked_config *cfg)
{
	char buf[CONFIG_ID_MAX * 4 + 16];

	if (cfg->d.n_listen > CONFIG_LISTEN_MAX || memchr(cfg->d.control, 0, CONFIG_PATH_MAX) == NULL)
		die("daemon section out of range");
	for (size_t i = 0; i < cfg->n_conns; i++) {
		const struct conn_cfg *c = &cfg->conns[i];
		if (config_find_conn(cfg, c->name) != c)
			die("config_find_conn does not find a connection");
		if (c->n_children < 1 || !c->children)
			die("connection without children");
		bool psk = c->local_auth == CONFIG_AUTH_PSK || c->remote_auth == CONFIG_AUTH_PSK;
		if (psk != (c->psk != NULL))
			die("PSK present without PSK auth, or missing with it");
		if (c->psk && c->psk->len == 0)
			die("empty PSK");
		if ((c->local_auth == CONFIG_AUTH_PUBKEY) != (c->key != NULL))
			die("private key present without pubkey auth, or missing with it");
		if (c->remote_auth == CONFIG_AUTH_PUBKEY && !c->n_cacerts && !c->remote_pubkey)
			die("remote pubkey auth with nothing to check the peer against");
		if (c->local_id.len > CONFIG_ID_MAX || c->remote_id.len > CONFIG_ID_MAX)
			die("identity too long");
		check_text(buf, sizeof(buf), config_id_format(&c->local_id, buf, sizeof(buf)));
		check_text(buf, sizeof(buf), config_id_format(&c->remote_id, buf, sizeof(buf)));
		check_proposals(&c->ike, PROTO_IKE);
		for (size_t j = 0; j < c->n_children; j++) {
			const struct child_cfg *ch = &c->children[j];
			if (config_find_child(c, ch->name) != ch)
				die("config_find_child does not find a child");
			check_ts(&ch->local_ts);
			check_ts(&ch->remote_ts);
			check_proposals(&ch->esp, PROTO_ESP);
		}
	}
	if (config_find_conn(cfg, "") != NULL)
		die("a connection with an empty name");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xiked_config *cfg = (struct xiked_config *)&cfg; /* must be overwritten */
	char err[600];

	int rc = config_parse((const char *)data, size, name, &cfg, err, sizeof(err));
	if (rc != 0) {
		if (rc != -1 || cfg != NULL)
			die("failure must be -1 with *out NULL");
		if (strncmp(err, name, strlen(name)) != 0 || strlen(err) >= sizeof(err))
			die("error message does not name the file");
		return 0;
	}
	if (!cfg)
		die("success without a configuration");
	check_config(cfg);
	config_free(cfg);
	return 0;
}
