/*
 * The key log ([daemon] keylog = FILE, xiked.conf(5)): for debugging only,
 * each IKE SA's SPIs, SK_e and SK_a keys and algorithms, one line per IKE
 * SA, in the key file format of ikedump --keys (tools/ikedump_keys.h):
 *
 *   # conn NAME
 *   ISPI RSPI ENCR[/KEYLEN] SK_ei SK_er [SK_ai SK_ar INTEG]
 *
 * so that a capture of xiked's own traffic can be decrypted. Written when
 * the keys are derived: after IKE_SA_INIT (before IKE_AUTH, which they
 * protect) and for the new IKE SA of a rekey (RFC 7296 2.18).
 *
 * Keys never go through the logger (design.md rule 5): the line is built
 * in a local buffer, written with one write(2) to the file (opened for
 * each line with O_APPEND, created 0600, a symbolic link refused, a file
 * readable by others made 0600 first) and wiped. The file is opened anew
 * each time, so a reload that changes or removes keylog = takes effect
 * for the next IKE SA. Failures are logged without the keys.
 */
#ifndef XIKED_KEYLOG_H
#define XIKED_KEYLOG_H

struct ikesa;
struct xiked_config;

/* Appends sa's keys (derived, c_in/c_out set) when keylog = is set; else nothing. */
void keylog_ike_sa(const struct ikesa *sa);

/* The loud warning, at start and on each reload, when cfg has keylog = set. */
void keylog_warn(const struct xiked_config *cfg);

#endif
