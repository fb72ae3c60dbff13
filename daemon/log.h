/*
 * Logging: one call, log_msg(group, level, fmt, ...) (DESIGN.md style rule 7).
 *
 * Lines look like "[IKE] message". On stderr each line is prefixed with the
 * CLOCK_BOOTTIME seconds since start-up unless the daemon runs under
 * systemd (JOURNAL_STREAM set: journald adds its own timestamps); after
 * log_use_syslog() lines go to syslog(3) with the matching priority.
 *
 * Nothing here formats keys or other secrets, and no caller may pass one:
 * DESIGN.md rule 5 allows key material only at an explicit, documented
 * private debug level, which does not exist yet.
 */
#ifndef XIKED_LOG_H
#define XIKED_LOG_H

#include <stdbool.h>

enum log_group {
	LOG_DMN, /* daemon life cycle */
	LOG_NET, /* sockets, datagrams */
	LOG_ENC, /* message encoding/decoding */
	LOG_IKE, /* IKE SA state */
	LOG_CHD, /* Child SA state */
	LOG_KNL, /* kernel interface */
	LOG_CFG, /* configuration */
	LOG_CTL, /* control socket */
	LOG_GROUP_COUNT,
};

/* Named LOG_LVL_* because <syslog.h> already owns LOG_INFO and LOG_DEBUG. */
enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Logs one line if log_enabled(g, l). A trailing newline in fmt is not needed. */
void log_msg(enum log_group g, enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when a message of this group and level would be written: lets callers
 * skip expensive formatting (hex dumps, address strings). */
bool log_enabled(enum log_group g, enum log_level l);

/* Sets the threshold of every group (default LOG_LVL_INFO). */
void log_set_level(enum log_level l);
/* Sets the threshold of one group. */
void log_set_group_level(enum log_group g, enum log_level l);

/* Switches output to syslog(3) under ident (borrowed; must outlive logging),
 * facility LOG_DAEMON. For a daemonized process. */
void log_use_syslog(const char *ident);
/* Back to stderr (the default). */
void log_use_stderr(void);

/*
 * Test hook: when fn is non-NULL every line that passes the threshold is
 * handed to fn (message text without the group prefix; borrowed for the
 * call) instead of being written. NULL restores normal output.
 */
typedef void (*log_sink_fn)(void *ctx, enum log_group g, enum log_level l, const char *msg);
void log_set_sink(log_sink_fn fn, void *ctx);

/* "error", "warn", "info", "debug" -> level; 0 on success, -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/* "ERROR"... and "DMN"...: static strings; "?" for out-of-range values. */
const char *log_level_name(enum log_level l);
const char *log_group_name(enum log_group g);

#endif
