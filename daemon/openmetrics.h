/*
 * A writer of the OpenMetrics text format (OpenMetrics 1.0, "Text
 * format"; Prometheus' text format 0.0.4 is its subset for what xiked
 * writes). A metric family starts with its "# TYPE", optional "# UNIT"
 * and "# HELP" lines; its samples follow at once (all samples of a
 * family are contiguous, as the format requires); "# EOF" ends the text.
 *
 *   # TYPE xiked_ike_setups counter
 *   # HELP xiked_ike_setups IKE SAs established.
 *   xiked_ike_setups_total{conn="site"} 3
 *   # EOF
 *
 * The same families can be written in Prometheus' older text format
 * (0.0.4; what `promtool check metrics` and clients that do not ask for
 * OpenMetrics read): there a counter's TYPE and HELP name the _total
 * sample, info and stateset families are gauges, and there is no UNIT or
 * EOF line.
 *
 * Names come from the code (checked: [a-zA-Z_:][a-zA-Z0-9_:]*; a counter
 * family's name does not end in _total, its samples do; a family with a
 * unit ends in _UNIT). Label values may come from the configuration or
 * the network: escaped as the format says (\\, \", \n), and octets that
 * are not well-formed UTF-8 become U+FFFD. Misuse and out-of-memory set
 * a sticky error flag, checked once at the end (as json.h).
 */
#ifndef XIKED_OPENMETRICS_H
#define XIKED_OPENMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum om_type {
	OM_COUNTER,  /* samples NAME_total */
	OM_GAUGE,    /* samples NAME */
	OM_INFO,     /* samples NAME_info, value 1 */
	OM_STATESET, /* samples NAME{NAME="state"} 0|1 */
};

/* Labels of one sample: n (name, value) pairs, names from the code, values borrowed. */
struct om_label {
	const char *name;
	const char *value;
};

enum om_format {
	OM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
	OM_PROMETHEUS,  /* text/plain; version=0.0.4 */
};

struct om_writer {
	enum om_format format;
	char *buf; /* NUL-terminated; owned */
	size_t len, cap;
	char family[128]; /* the family being written ("" before the first) */
	enum om_type type;
	bool eof;
	bool err;
};

void om_init(struct om_writer *w, enum om_format format);
/* Frees the buffer; the writer may be initialised again. */
void om_free(struct om_writer *w);

/*
 * Starts a family: name (without _total / _info), unit (NULL: none; the
 * name must then end in "_" unit), help (one line; escaped).
 */
void om_family(struct om_writer *w, const char *name, enum om_type type, const char *unit,
	       const char *help);
/* A sample of the current family with n labels (may be 0). */
void om_sample(struct om_writer *w, const struct om_label *labels, size_t n, uint64_t value);
/* A sample with a value that is not an integer (a gauge in seconds, for example). */
void om_sample_double(struct om_writer *w, const struct om_label *labels, size_t n, double value);
/* Ends the exposition ("# EOF" in OpenMetrics); nothing may follow. */
void om_eof(struct om_writer *w);

/* No error and om_eof called. */
bool om_ok(const struct om_writer *w);
/* The text (borrowed; "" when empty). */
const char *om_str(const struct om_writer *w);
size_t om_len(const struct om_writer *w);

/* Appends s (len octets) to w as a label value: escaped, invalid UTF-8 as U+FFFD. */
void om_escape_value(struct om_writer *w, const char *s, size_t len);

/* The Content-Type of format's text (for HTTP). */
const char *om_content_type(enum om_format format);

#endif
