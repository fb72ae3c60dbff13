/* Logging to stderr or syslog; see log.h. */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

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

const char *log_level_name(enum log_level l)
{
	static const char *const upper[] = { "ERROR", "WARN", "INFO", "DEBUG" };

	if ((unsigned)l >= sizeof(upper) / sizeof(upper[0]))
		return "?";
	return upper[l];
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

/* journald stamps each line itself; a second timestamp would only add noise. */
static bool under_journald(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("JOURNAL_STREAM") != NULL;
	return cached;
}

void log_msg(enum log_group g, enum log_level l, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
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
	if (under_journald()) {
		fprintf(stderr, "[%s] %s\n", group_names[g], line);
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_BOOTTIME, &ts);
		fprintf(stderr, "%5lld.%03ld [%s] %s\n", (long long)ts.tv_sec,
			ts.tv_nsec / 1000000, group_names[g], line);
	}
}
