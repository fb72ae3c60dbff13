/*
 * Applying a reload (engine_reload): the running state is brought to the
 * new file, conn by conn (config_diff.h), as strongSwan's
 * `swanctl --load-all` does, without touching what did not change:
 *
 *  - removed conns: their traps are removed and their IKE SAs deleted with
 *    a Delete to the peer (the path of `xikectl down`);
 *  - added conns: start = trap installs their traps, start = initiate
 *    initiates them;
 *  - changed conns: a trap whose policies change (addresses, selectors,
 *    mode, route-based settings, a child gone, start no longer trap) is
 *    removed and installed again; others stay as they are. start =
 *    initiate initiates the conn unless it has an IKE SA. Running IKE SAs
 *    and their Child SAs are kept, and keep the settings they were made
 *    with, through rekeys and reauthentication, until they are
 *    re-established (`xikectl down` and `up`, the peer, DPD, a trap);
 *  - unchanged conns: nothing happens (their traps move to the new
 *    configuration with the same policies and reqid: no gap).
 *
 * The report says what was done, one entry per conn, as JSON
 * (xikectl reload --json) and as text lines (xikectl reload, the log).
 */
#ifndef XIKED_RELOAD_H
#define XIKED_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config_diff.h"

struct engine;
struct json_writer;

struct reload_conn {
	char name[CONFIG_NAME_MAX + 1];
	enum config_diff_kind kind;
	uint32_t what;            /* changed: enum config_change bits */
	unsigned ike_sas;         /* removed: IKE SAs deleted; changed: IKE SAs kept as they are */
	unsigned traps_removed, traps_installed;
	bool initiated;
	char error[160];          /* why initiating failed, "" = it did not */
};

struct reload_report {
	struct reload_conn *v; /* owned: the added, changed, unchanged conns, then the removed */
	size_t n;
	size_t added, removed, changed, unchanged;
	uint32_t daemon_restart; /* [daemon] settings that apply at the next start */
};

/*
 * Loads path (borrowed) and applies it to e (engine_reload). 0 with *r
 * filled (free with reload_report_free), or -1 with the file's error
 * ("path:line: what is wrong") in err, *r empty and e untouched: the
 * running configuration stays.
 */
int reload_file(struct engine *e, const char *path, struct reload_report *r, char *err,
		size_t errlen);

/* An entry per conn of d (borrowed). 0 or -ENOMEM (nothing allocated). */
int reload_report_init(struct reload_report *r, const struct config_diff *d);
void reload_report_free(struct reload_report *r);

/*
 * Brings e to its new configuration (already e->cfg) from old (borrowed),
 * as d (borrowed) says, recording what it does in r (from
 * reload_report_init(d)).
 */
void reload_apply(struct engine *e, const struct xiked_config *old, const struct config_diff *d,
		  struct reload_report *r);

/*
 * The report's members written into an object the caller has opened:
 * "added", "removed", "changed" (arrays of objects), "unchanged" (a
 * count), "restart_needed" (names of [daemon] settings) and "message"
 * (the text lines, joined by newlines). The README has the schema.
 */
void reload_report_json(const struct reload_report *r, struct json_writer *w);
/*
 * One text line per added, removed and changed conn ("no changes" when
 * there are none) and one for [daemon] settings needing a restart, each
 * passed to line(ctx, text).
 */
void reload_report_lines(const struct reload_report *r, void (*line)(void *ctx, const char *text),
			 void *ctx);

#endif
