/*
 * Text that came from a peer (identities, certificate subjects) or from
 * anyone else outside, made safe for a terminal or a log line: the one
 * escaping function of xiked's text output (xikectl, the log).
 */
#ifndef XIKED_TEXT_H
#define XIKED_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length of the well-formed UTF-8 sequence at p (at most left octets):
 * 1-4, or 0 when it is not one (overlong forms, surrogates and code points
 * above U+10FFFF are not).
 */
size_t utf8_seq_len(const unsigned char *p, size_t left);

/*
 * s[0..len) into out (NUL-terminated, at most outlen octets with the NUL):
 * printable ASCII and well-formed UTF-8 as they are; control characters
 * (C0, DEL, C1), bidirectional controls (U+202A-U+202E, U+2066-U+2069,
 * which reorder what a terminal shows) and octets that are not UTF-8 as
 * \xNN per octet; a backslash as \\. Never cuts a sequence or an escape: a
 * text that does not fit ends with "...". Returns out.
 */
char *text_escape(const void *s, size_t len, char *out, size_t outlen);

#endif
