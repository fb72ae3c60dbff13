/* Logging to stderr or syslog; see log.h. */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Longest line we format; longer messages are truncated, never split. */
#define LOG_LINE_MAX 2048

static const char *const group_names[LOG_GROUP_COUNT] = {
	[LOG_DMN] = "DMN", [LOG_NET] = "NET", [LOG_ENC] = "ENC", [LOG_IKE] = "IKE",
	[LOG_CHD] = "CHD", [LOG_KNL] = "KNL", [LOG_CFG] = "CFG", [LOG_CTL] = "CTL",
};

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error", [LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

static enum log_level thresholds[LOG_GROUP_COUNT] = {
	LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO,
	LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO, LOG_LVL_INFO,
};
static bool to_syslog;
static log_sink_fn sink;
static void *sink_ctx;

bool log_enabled(enum log_group g, enum log_level l)
{
	if ((unsigned)g >= LOG_GROUP_COUNT)
		return false;
	return l <= thresholds[g];
}

void log_set_level(enum log_level l)
{
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		thresholds[i] = l;
}

void log_set_group_level(enum log_group g, enum log_level l)
{
	if ((unsigned)g < LOG_GROUP_COUNT)
		thresholds[g] = l;
}

void log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
}

void log_use_stderr(void)
{
	if (to_syslog)
		closelog();
	to_syslog = false;
}

void log_set_sink(log_sink_fn fn, void *ctx)
{
	sink = fn;
	sink_ctx = ctx;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_group_parse(const char *s, enum log_group *out)
{
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++) {
		if (strcasecmp(s, group_names[i]) == 0) {
			*out = (enum log_group)i;
			return 0;
		}
	}
	return -1;
}

/* One item of a log = list, s[0..n) without surrounding blanks, into lv. */
static int levels_item(const char *s, size_t n, struct log_levels *lv, bool *have_default,
		       bool named[LOG_GROUP_COUNT], char *err, size_t errlen)
{
	char item[32], *eq;
	enum log_level l;
	enum log_group g;

	if (n == 0) {
		snprintf(err, errlen, "empty item");
		return -1;
	}
	if (n >= sizeof(item)) {
		snprintf(err, errlen, "'%.*s...' is not LEVEL or GROUP=LEVEL", 20, s);
		return -1;
	}
	memcpy(item, s, n);
	item[n] = '\0';
	eq = strchr(item, '=');
	if (!eq) {
		if (log_level_parse(item, &l) < 0) {
			snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", item);
			return -1;
		}
		if (*have_default) {
			snprintf(err, errlen, "two default levels ('%s')", item);
			return -1;
		}
		*have_default = true;
		for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
			if (!named[i])
				lv->level[i] = l;
		return 0;
	}
	*eq = '\0';
	/* Blanks around '=' are allowed. */
	for (char *e = eq; e > item && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	const char *lvl = eq + 1;
	while (*lvl == ' ' || *lvl == '\t')
		lvl++;
	if (log_group_parse(item, &g) < 0) {
		snprintf(err, errlen, "unknown group '%s' (one of dmn, net, enc, ike, chd, knl, cfg, "
			 "ctl)", item);
		return -1;
	}
	if (log_level_parse(lvl, &l) < 0) {
		snprintf(err, errlen, "%s: '%s' is not one of error, warn, info, debug", item, lvl);
		return -1;
	}
	if (named[g]) {
		snprintf(err, errlen, "group %s named twice", group_names[g]);
		return -1;
	}
	named[g] = true;
	lv->level[g] = l;
	return 0;
}

int log_levels_parse(const char *s, struct log_levels *out, char *err, size_t errlen)
{
	struct log_levels lv;
	bool named[LOG_GROUP_COUNT] = { false };
	bool have_default = false;

	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		lv.level[i] = LOG_LVL_INFO;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (levels_item(s, n, &lv, &have_default, named, err, errlen) < 0)
			return -1;
		if (!end)
			break;
		s = end + 1;
	}
	*out = lv;
	return 0;
}

void log_levels_set(const struct log_levels *lv)
{
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		thresholds[i] = lv->level[i];
}

void log_levels_get(struct log_levels *lv)
{
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		lv->level[i] = thresholds[i];
}

bool log_levels_equal(const struct log_levels *a, const struct log_levels *b)
{
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		if (a->level[i] != b->level[i])
			return false;
	return true;
}

const char *log_level_name(enum log_level l)
{
	static const char *const upper[] = { "ERROR", "WARN", "INFO", "DEBUG" };

	if ((unsigned)l >= sizeof(upper) / sizeof(upper[0]))
		return "?";
	return upper[l];
}

const char *log_level_key(enum log_level l)
{
	if ((unsigned)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[l];
}

const char *log_group_key(enum log_group g)
{
	static const char *const keys[LOG_GROUP_COUNT] = {
		[LOG_DMN] = "dmn", [LOG_NET] = "net", [LOG_ENC] = "enc", [LOG_IKE] = "ike",
		[LOG_CHD] = "chd", [LOG_KNL] = "knl", [LOG_CFG] = "cfg", [LOG_CTL] = "ctl",
	};

	if ((unsigned)g >= LOG_GROUP_COUNT)
		return "?";
	return keys[g];
}

const char *log_group_name(enum log_group g)
{
	if ((unsigned)g >= LOG_GROUP_COUNT)
		return "?";
	return group_names[g];
}

static int syslog_priority(enum log_level l)
{
	switch (l) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	case LOG_LVL_DEBUG:
	default:
		return LOG_DEBUG;
	}
}

bool log_is_journal_stream(const char *journal_stream, int fd)
{
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!journal_stream)
		return false;
	if (sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    journal_stream[n] != '\0')
		return false;
	if (fstat(fd, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* journald stamps each line itself; a second timestamp would only add noise. */
enum log_style log_stderr_style(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = log_is_journal_stream(getenv("JOURNAL_STREAM"), STDERR_FILENO)
				 ? LOG_STYLE_JOURNAL
				 : LOG_STYLE_TIME;
	return (enum log_style)cached;
}

/* sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
static int journal_priority(enum log_level l)
{
	static const int prio[] = { 3, 4, 6, 7 };

	return (unsigned)l < sizeof(prio) / sizeof(prio[0]) ? prio[l] : 7;
}

size_t log_format_line(char *out, size_t len, enum log_style st, const struct timespec *wall,
		       enum log_group g, enum log_level l, const char *msg)
{
	int n;

	if (len < 2)
		return 0;
	if (st == LOG_STYLE_JOURNAL) {
		n = snprintf(out, len, "<%d>[%s] %s\n", journal_priority(l), log_group_name(g),
			     msg);
	} else {
		struct tm tm;
		time_t secs = wall->tv_sec;

		gmtime_r(&secs, &tm);
		n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s\n",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, wall->tv_nsec / 1000000, log_group_name(g), msg);
	}
	if (n < 0)
		return 0;
	if ((size_t)n >= len) {
		/* Truncated: keep one line per message. */
		out[len - 2] = '\n';
		out[len - 1] = '\0';
		return len - 1;
	}
	return (size_t)n;
}

void log_msg(enum log_group g, enum log_level l, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	char out[LOG_LINE_MAX + 64];
	struct timespec wall = { 0 };
	enum log_style st;
	size_t n;
	va_list ap;

	if (!log_enabled(g, l))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (sink) {
		sink(sink_ctx, g, l, line);
		return;
	}
	if (to_syslog) {
		syslog(syslog_priority(l), "[%s] %s", group_names[g], line);
		return;
	}
	st = log_stderr_style();
	if (st == LOG_STYLE_TIME)
		clock_gettime(CLOCK_REALTIME, &wall); /* log lines only: timers use the clock seam */
	n = log_format_line(out, sizeof(out), st, &wall, g, l, line);
	fwrite(out, 1, n, stderr);
}
