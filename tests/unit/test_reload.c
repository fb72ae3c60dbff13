/*
 * Reload applies the file (daemon/reload.h): two engines, a's configuration
 * replaced while it runs. Traps added, removed, re-installed or kept with
 * their reqid; a removed conn's IKE SA deleted with a Delete to the peer;
 * a changed conn's SAs kept; an added start = initiate conn brought up; a
 * broken file changing nothing. The diff itself (config_diff.h) too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config_diff.h"
#include "daemon/json.h"
#include "daemon/reload.h"
#include "daemon/trap.h"
#include "tests/unit/engine_world.h"

#define PSK "psk = \"correct horse battery staple\"\n"

/* a's conn b; %s: more lines for it, then more conns. */
#define DAEMON "[daemon]\nlog = error\n"
#define CONF_A DAEMON CONN_B
#define CONN_B                                                                               \
	"[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n"  \
	"remote_id = b.example\nauth = psk\n" PSK                                            \
	"local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n%s%s"

/* b answers any peer with a.example's identity, for either of a's subnets. */
#define CONF_B                                                                               \
	"[daemon]\nlog = error\n"                                                            \
	"[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %any\nlocal_id = b.example\n"       \
	"remote_id = a.example\nauth = psk\n" PSK "ike = aes256gcm16-prfsha256-x25519\n"     \
	"esp = aes256gcm16, aes128gcm16\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n"

/* A second conn of a to the same peer, for other subnets; %s: its start and more. */
#define CONN_LAB                                                                             \
	"[conn lab]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\nlocal_id = a.example\n" \
	"remote_id = b.example\nauth = psk\n" PSK "local_ts = 10.1.1.0/24\n"                 \
	"remote_ts = %s\n%s"

static char text_a[4096];

static const char *conf_a(const char *b_extra, const char *more)
{
	snprintf(text_a, sizeof(text_a), CONF_A, b_extra, more);
	return text_a;
}

static const char *lab(const char *remote_ts, const char *extra)
{
	static char buf[1024];
	snprintf(buf, sizeof(buf), CONN_LAB, remote_ts, extra);
	return buf;
}

/* A configuration as world_new_text makes them (dead peer detection off unless asked). */
static struct xiked_config *reconf(const char *text)
{
	struct xiked_config *c = conf(text);
	if (!strstr(text, "dpd"))
		for (size_t k = 0; k < c->n_conns; k++)
			c->conns[k].live.dpd_s = 0;
	return c;
}

static void world(const char *a)
{
	world_new_text(a, CONF_B, 42);
}

/* a reloads text; the report's entry for conn name (NULL if none). */
static struct reload_report rep;

static void reload_a(const char *text)
{
	reload_report_free(&rep);
	assert_int_equal(engine_reload(W->s[0].e, reconf(text), &rep), 0);
}

static const struct reload_conn *entry(const char *name)
{
	for (size_t i = 0; i < rep.n; i++)
		if (strcmp(rep.v[i].name, name) == 0)
			return &rep.v[i];
	return NULL;
}

static void done(void)
{
	reload_report_free(&rep);
	world_free();
}

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

struct pol_find {
	struct kaddr dst;
	uint8_t plen;
	enum kdir dir;
	const struct kernel_policy *hit;
	unsigned n;
};

static void pol_cb(void *arg, const struct kernel_policy *p)
{
	struct pol_find *f = arg;
	if (p->dir == f->dir && p->sel.dst_plen == f->plen &&
	    memcmp(p->sel.dst.a, f->dst.a, 4) == 0) {
		f->hit = p;
		f->n++;
	}
}

/* a's outbound policy to remote prefix ip/plen (NULL if none). */
static const struct kernel_policy *out_policy(const char *ip, uint8_t plen)
{
	struct pol_find f = {.dst = kaddr4(ip), .plen = plen, .dir = KDIR_OUT};
	kernel_fake_foreach_policy(W->s[0].fake, pol_cb, &f);
	assert_true(f.n <= 1);
	return f.hit;
}

/* ---- traps ---- */

/* A start = trap conn added by a reload gets its policies, at once, with nothing sent. */
static void test_trap_added(void **st)
{
	(void)st;
	world(conf_a("", ""));
	engine_start(W->s[0].e);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 0);
	reload_a(conf_a("", lab("10.2.1.0/24", "start = trap\n")));
	assert_int_equal(rep.added, 1);
	assert_int_equal(rep.unchanged, 1);
	assert_int_equal(entry("lab")->kind, CONFIG_DIFF_ADDED);
	assert_int_equal(entry("lab")->traps_installed, 1);
	assert_int_equal(entry("b")->kind, CONFIG_DIFF_UNCHANGED);
	/* out, in, fwd for 10.1.1.0/24 === 10.2.1.0/24 */
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	const struct kernel_policy *p = out_policy("10.2.1.0", 24);
	assert_non_null(p);
	assert_true(p->reqid != 0);
	assert_int_equal(W->nq, 0);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	/* The trap works: the first packet brings the conn up. */
	struct ksel sel = {.src = kaddr4("10.1.1.5"), .dst = kaddr4("10.2.1.7"), .src_plen = 32,
			   .dst_plen = 32};
	kernel_fake_inject_acquire(W->s[0].fake, &sel, p->reqid);
	kernel_events();
	step(1, IKE_SA_INIT, false);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	assert_string_equal(sa_of(0)->conn->name, "lab");
	done();
}

/* A trap conn removed from the file loses its policies; so does one whose start changed. */
static void test_trap_removed(void **st)
{
	(void)st;
	world(conf_a("start = trap\n", lab("10.2.1.0/24", "start = trap\n")));
	engine_start(W->s[0].e);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 6);
	reload_a(conf_a("start = trap\n", ""));
	assert_int_equal(rep.removed, 1);
	assert_int_equal(entry("lab")->kind, CONFIG_DIFF_REMOVED);
	assert_int_equal(entry("lab")->traps_removed, 1);
	assert_int_equal(entry("lab")->ike_sas, 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	assert_null(out_policy("10.2.1.0", 24));
	assert_non_null(out_policy("10.2.0.0", 24));
	/* start = trap -> none: a change, and its trap goes too. */
	reload_a(conf_a("", ""));
	assert_int_equal(entry("b")->kind, CONFIG_DIFF_CHANGED);
	assert_int_equal(entry("b")->what, CONFIG_CHG_START);
	assert_int_equal(entry("b")->traps_removed, 1);
	assert_int_equal(entry("b")->traps_installed, 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 0);
	assert_null(W->s[0].e->trap_list);
	assert_int_equal(W->nq, 0);
	done();
}

/*
 * An unchanged trap conn keeps its policies and reqid through a reload (no
 * delete, no add: no gap), and a Child SA made from the new configuration
 * still shares them.
 */
static void test_trap_unchanged(void **st)
{
	(void)st;
	world(conf_a("start = trap\n", ""));
	engine_start(W->s[0].e);
	uint32_t reqid = out_policy("10.2.0.0", 24)->reqid;
	kernel_fake_log_clear(W->s[0].fake);
	reload_a(conf_a("start = trap\n", ""));
	assert_int_equal(rep.unchanged, 1);
	assert_int_equal(entry("b")->kind, CONFIG_DIFF_UNCHANGED);
	assert_int_equal(kernel_fake_log_len(W->s[0].fake), 0);
	assert_int_equal(out_policy("10.2.0.0", 24)->reqid, reqid);
	/* A changed proposal is no policy change: the trap stays too. */
	reload_a(conf_a("start = trap\nesp = aes128gcm16\n", ""));
	assert_int_equal(entry("b")->what, CONFIG_CHG_ESP);
	assert_int_equal(entry("b")->traps_removed, 0);
	assert_int_equal(entry("b")->traps_installed, 0);
	assert_int_equal(kernel_fake_log_len(W->s[0].fake), 0);
	struct ksel sel = {.src = kaddr4("10.1.0.5"), .dst = kaddr4("10.2.0.7"), .src_plen = 32,
			   .dst_plen = 32};
	kernel_fake_inject_acquire(W->s[0].fake, &sel, reqid);
	kernel_events();
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel(); /* 3 policies: the trap's, shared */
	assert_int_equal(sa_of(0)->children->reqid, reqid);
	assert_int_equal(sa_of(0)->children->suite.encr_keylen, 128); /* the new esp = */
	done();
}

/* Changed selectors: the trap is removed and installed again with the new ones. */
static void test_trap_changed(void **st)
{
	(void)st;
	world(conf_a("", lab("10.2.1.0/24", "start = trap\n")));
	engine_start(W->s[0].e);
	uint32_t reqid = out_policy("10.2.1.0", 24)->reqid;
	reload_a(conf_a("", lab("10.2.2.0/24", "start = trap\n")));
	assert_int_equal(rep.changed, 1);
	assert_int_equal(entry("lab")->what, CONFIG_CHG_SELECTORS);
	assert_int_equal(entry("lab")->traps_removed, 1);
	assert_int_equal(entry("lab")->traps_installed, 1);
	assert_null(out_policy("10.2.1.0", 24));
	const struct kernel_policy *p = out_policy("10.2.2.0", 24);
	assert_non_null(p);
	assert_int_not_equal(p->reqid, reqid);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	done();
}

/* ---- SAs ---- */

/* A removed conn's IKE SA is deleted with a Delete to the peer, as xikectl down does. */
static void test_removed_with_sas(void **st)
{
	(void)st;
	world(conf_a("", ""));
	establish();
	assert_tunnel();
	reload_a("[daemon]\nlog = error\n" "[conn other]\nremote_addr = 192.0.2.9\nauth = psk\n"
		 PSK "local_ts = 10.1.9.0/24\nremote_ts = 10.2.9.0/24\n");
	assert_int_equal(rep.removed, 1);
	assert_int_equal(rep.added, 1);
	assert_int_equal(entry("b")->kind, CONFIG_DIFF_REMOVED);
	assert_int_equal(entry("b")->ike_sas, 1);
	/* INFORMATIONAL { HDR, SK { D(IKE) } } --> */
	step(1, INFORMATIONAL, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	/* <-- { HDR, SK { } } */
	step(0, INFORMATIONAL, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left(); /* states and policies gone on both sides */
	assert_int_equal(W->nq, 0);
	done();
}

/*
 * A changed conn's running SAs stay as they are (strongSwan's
 * swanctl --load-all): nothing is sent or removed, the Child SA keeps its
 * SPIs, and its next rekey still uses the settings it was made with.
 */
static void test_changed_keeps_sas(void **st)
{
	(void)st;
	world(conf_a("", ""));
	establish();
	struct child_sa *c = sa_of(0)->children;
	uint32_t spi = c->spi_in;
	kernel_fake_log_clear(W->s[0].fake);
	reload_a(conf_a("esp = aes128gcm16\nlifetime = 2h\nmobike = no\n", ""));
	assert_int_equal(rep.changed, 1);
	assert_int_equal(entry("b")->what,
			 CONFIG_CHG_ESP | CONFIG_CHG_LIFETIMES | CONFIG_CHG_LIVENESS);
	assert_int_equal(entry("b")->ike_sas, 1);
	assert_false(entry("b")->initiated);
	assert_int_equal(W->nq, 0);
	assert_int_equal(kernel_fake_log_len(W->s[0].fake), 0);
	assert_tunnel();
	assert_int_equal(sa_of(0)->children->spi_in, spi);
	char err[128];
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	/* CREATE_CHILD_SA { HDR, SK { N(REKEY_SA), SA, Ni, TSi, TSr } } --> (the old aes256gcm16) */
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_tunnel();
	assert_int_not_equal(sa_of(0)->children->spi_in, spi);
	assert_int_equal(sa_of(0)->children->suite.encr_keylen, 256);
	/* The IKE SA still runs on the old configuration; a new one takes the new. */
	assert_ptr_not_equal(sa_of(0)->cfgref, W->s[0].e->cfg);
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	assert_ptr_equal(sa_of(0)->cfgref, W->s[0].e->cfg);
	done();
}

/* A start = initiate conn added by a reload comes up; so does none -> initiate. */
static void test_initiate_added(void **st)
{
	(void)st;
	world(conf_a("", ""));
	const char *b2 = "[conn b2]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
			 "local_id = a.example\nremote_id = b.example\nauth = psk\n" PSK
			 "local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\nstart = initiate\n";
	reload_a(conf_a("", b2));
	assert_true(entry("b2")->initiated);
	assert_false(entry("b")->initiated);
	/* IKE_SA_INIT, IKE_AUTH: the tunnel is up. */
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	assert_string_equal(sa_of(0)->conn->name, "b2");
	/* Reloading the same file again starts nothing more. */
	reload_a(conf_a("", b2));
	assert_int_equal(rep.unchanged, 2);
	assert_int_equal(W->nq, 0);
	/* b: none -> initiate, with no IKE SA of its own: initiated. */
	reload_a(conf_a("start = initiate\n", b2));
	assert_int_equal(entry("b")->what, CONFIG_CHG_START);
	assert_true(entry("b")->initiated);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 2);
	step(1, IKE_SA_INIT, false);
	done();
}

/* A broken file: the error says where, and nothing changes (config, traps, SAs). */
static void test_broken_file(void **st)
{
	(void)st;
	world(conf_a("start = trap\n", ""));
	engine_start(W->s[0].e);
	char path[] = "/tmp/xiked-test-reload-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *bad = "[conn b]\nremote_addr = 192.0.2.2\nauth = psk\n" PSK "start = sometimes\n";
	assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	struct cfg_ref *before = W->s[0].e->cfg;
	kernel_fake_log_clear(W->s[0].fake);
	char err[256];
	assert_int_equal(reload_file(W->s[0].e, path, &rep, err, sizeof(err)), -1);
	unlink(path);
	if (!strstr(err, ":5: start: 'sometimes'"))
		fail_msg("error: %s", err);
	assert_int_equal(rep.n, 0);
	assert_ptr_equal(W->s[0].e->cfg, before);
	assert_int_equal(kernel_fake_log_len(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	assert_int_equal(W->nq, 0);
	done();
}

/* ---- the diff ---- */

static void test_diff(void **st)
{
	(void)st;
	struct xiked_config *a = conf(conf_a("", lab("10.2.1.0/24", "")));
	char text[4096];
	snprintf(text, sizeof(text), DAEMON "port = 1500\nroute_table = 100\nuser = nobody\n" CONN_B,
		 "dpd = 10s\nike = aes128-sha256-ecp256\n",
		 "[conn c]\nremote_addr = 192.0.2.3\nauth = psk\n" PSK);
	struct xiked_config *b = conf(text);
	struct config_diff d;
	assert_int_equal(config_diff(a, b, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.n_new, 2);
	assert_int_equal(d.v[0].kind, CONFIG_DIFF_CHANGED);
	assert_int_equal(d.v[0].what, CONFIG_CHG_LIVENESS | CONFIG_CHG_IKE);
	assert_int_equal(d.v[1].kind, CONFIG_DIFF_ADDED);
	assert_string_equal(d.v[1].new_conn->name, "c");
	assert_int_equal(d.v[2].kind, CONFIG_DIFF_REMOVED);
	assert_string_equal(d.v[2].old_conn->name, "lab");
	assert_int_equal(d.daemon_restart,
			 CONFIG_DCHG_PORTS | CONFIG_DCHG_ROUTE_TABLE | CONFIG_DCHG_USER);
	char buf[128];
	config_diff_what_text(d.v[0].what, buf, sizeof(buf));
	assert_string_equal(buf, "ike, liveness");
	config_diff_free(&d);
	/* The same file: all unchanged (the psk, keys and proposals compared by value). */
	struct xiked_config *a2 = conf(conf_a("", lab("10.2.1.0/24", "")));
	assert_int_equal(config_diff(a, a2, &d), 0);
	assert_int_equal(d.unchanged, 2);
	assert_int_equal(d.changed + d.added + d.removed, 0);
	config_diff_free(&d);
	/* A different psk, a child's mode. */
	struct xiked_config *a3 = conf(
		"[conn b]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"another one\"\n"
		"local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\nmode = transport\n");
	assert_int_equal(config_diff_conns(&a->conns[0], &a3->conns[0]) &
				 (CONFIG_CHG_AUTH | CONFIG_CHG_MODE | CONFIG_CHG_SELECTORS),
			 CONFIG_CHG_AUTH | CONFIG_CHG_MODE);
	config_free(a);
	config_free(a2);
	config_free(a3);
	config_free(b);
}

/* The JSON form carries the same as the text (xikectl reload --json). */
static void test_report_json(void **st)
{
	(void)st;
	world(conf_a("", lab("10.2.1.0/24", "start = trap\n")));
	engine_start(W->s[0].e);
	reload_a(conf_a("", ""));
	struct json_writer w;
	json_writer_init(&w);
	json_obj_begin(&w);
	reload_report_json(&rep, &w);
	json_obj_end(&w);
	assert_string_equal(json_writer_str(&w),
			    "{\"added\":[],\"removed\":[{\"name\":\"lab\",\"ike_sas_deleted\":0,"
			    "\"traps_installed\":0,\"traps_removed\":1}],\"changed\":[],"
			    "\"unchanged\":1,\"restart_needed\":[],"
			    "\"message\":\"removed lab: trap policies removed\"}");
	json_writer_free(&w);
	reload_a(conf_a("", ""));
	json_writer_init(&w);
	json_obj_begin(&w);
	reload_report_json(&rep, &w);
	json_obj_end(&w);
	assert_non_null(strstr(json_writer_str(&w), "\"message\":\"no changes (1 connection)\""));
	json_writer_free(&w);
	done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trap_added),
		cmocka_unit_test(test_trap_removed),
		cmocka_unit_test(test_trap_unchanged),
		cmocka_unit_test(test_trap_changed),
		cmocka_unit_test(test_removed_with_sas),
		cmocka_unit_test(test_changed_keeps_sas),
		cmocka_unit_test(test_initiate_added),
		cmocka_unit_test(test_broken_file),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_report_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
