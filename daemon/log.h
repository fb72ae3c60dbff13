/*
 * Logging: one call, log_msg(group, level, fmt, ...) (design.md rule 7).
 *
 * Lines look like "[IKE] message". On stderr, two forms:
 *  - stderr is a journald stream (JOURNAL_STREAM names stderr's device and
 *    inode, as sd-daemon(3) documents): "<N>[IKE] message", N the syslog
 *    priority (sd-daemon.h SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7),
 *    which journald strips and stores; no timestamp (journald adds its own);
 *  - otherwise (a terminal, a file under -f): "2026-12-07T16:50:01.123Z
 *    [IKE] message", the wall-clock time in UTC, ISO 8601 with milliseconds.
 * The wall clock is read here for log lines only; the engine's timers use
 * the clock seam (daemon/clock.h). After log_use_syslog() lines go to
 * syslog(3) with the matching priority.
 *
 * Nothing here formats keys or other secrets, and no caller may pass one:
 * design.md rule 5 allows key material only at an explicit, documented
 * private debug level, which does not exist yet.
 */
#ifndef XIKED_LOG_H
#define XIKED_LOG_H

#include <stdbool.h>
#include <stddef.h>

struct timespec;

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

/* How a line is written to stderr (see the top of this file). */
enum log_style {
	LOG_STYLE_TIME,    /* ISO 8601 UTC timestamp with milliseconds */
	LOG_STYLE_JOURNAL, /* <N> priority prefix, no timestamp */
};
/*
 * True when journal_stream (the JOURNAL_STREAM value, "DEV:INODE" in
 * decimal; NULL when unset) names the file open on fd: only then is that fd
 * connected to journald (a redirected stderr inherits the variable but not
 * the stream).
 */
bool log_is_journal_stream(const char *journal_stream, int fd);
/* The style stderr gets; decided once, at the first line, from the environment. */
enum log_style log_stderr_style(void);
/*
 * Formats one stderr line (with its newline) into out[0..len): msg from
 * group g at level l in style st; wall is the time for LOG_STYLE_TIME.
 * Returns the octets written (truncated lines still end in a newline).
 */
size_t log_format_line(char *out, size_t len, enum log_style st, const struct timespec *wall,
		       enum log_group g, enum log_level l, const char *msg);

/*
 * Test hook: when fn is non-NULL every line that passes the threshold is
 * handed to fn (message text without the group prefix; borrowed for the
 * call) instead of being written. NULL restores normal output.
 */
typedef void (*log_sink_fn)(void *ctx, enum log_group g, enum log_level l, const char *msg);
void log_set_sink(log_sink_fn fn, void *ctx);

/* Every group's threshold: the [daemon] log = setting, or the running state. */
struct log_levels {
	enum log_level level[LOG_GROUP_COUNT];
};
/*
 * Parses a log = value: a comma-separated list of LEVEL (every group not
 * named) and GROUP=LEVEL items, e.g. "info, knl=debug, ike=debug"; group
 * and level names are case-insensitive; default level info. 0 and *out,
 * or -1 with a message in err (an unknown group or level, an empty item,
 * two default levels, a group named twice).
 */
int log_levels_parse(const char *s, struct log_levels *out, char *err, size_t errlen);
/* Applies every group's threshold / reads the current ones. */
void log_levels_set(const struct log_levels *lv);
void log_levels_get(struct log_levels *lv);
bool log_levels_equal(const struct log_levels *a, const struct log_levels *b);

/* "knl", "KNL"... -> group; 0 on success, -1 if unknown. */
int log_group_parse(const char *s, enum log_group *out);

/* "error", "warn", "info", "debug" -> level; 0 on success, -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/* "ERROR"... and "DMN"...: static strings; "?" for out-of-range values. */
const char *log_level_name(enum log_level l);
const char *log_group_name(enum log_group g);
/* Lower-case, as log = and xikectl log spell them: "debug"..., "dmn"...; "?" out of range. */
const char *log_level_key(enum log_level l);
const char *log_group_key(enum log_group g);

#endif
