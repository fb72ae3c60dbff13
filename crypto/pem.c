/* PEM decoding (see pem.h). */
#include "crypto/pem.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

static const char BEGIN[] = "-----BEGIN ";
static const char END[] = "-----END ";
static const char DASHES[] = "-----";

static const char *find(const char *hay, size_t len, const char *needle)
{
	return memmem(hay, len, needle, strlen(needle));
}

bool pem_is_pem(const uint8_t *text, size_t len)
{
	return find((const char *)text, len, BEGIN) != NULL;
}

void pem_block_clear(struct pem_block *b)
{
	if (b->der) {
		crypto_wipe(b->der, b->len);
		free(b->der);
	}
	memset(b, 0, sizeof(*b));
}

int pem_next(const char *text, size_t len, size_t *pos, struct pem_block *out)
{
	const char *p, *end = text + len, *lab, *labend, *body, *stop;
	char endline[sizeof(END) + PEM_LABEL_MAX + sizeof(DASHES)];
	size_t lablen, blen = 0, dlen = 0;
	const char *b64end;

	memset(out, 0, sizeof(*out));
	if (*pos >= len)
		return 0;
	p = find(text + *pos, len - *pos, BEGIN);
	if (!p)
		return 0;
	lab = p + strlen(BEGIN);
	labend = find(lab, (size_t)(end - lab), DASHES);
	if (!labend || memchr(lab, '\n', (size_t)(labend - lab)))
		return -1;
	lablen = (size_t)(labend - lab);
	if (lablen > PEM_LABEL_MAX)
		return -1;
	memcpy(out->label, lab, lablen);
	out->label[lablen] = 0;
	snprintf(endline, sizeof(endline), "%s%s%s", END, out->label, DASHES);
	body = labend + strlen(DASHES);
	stop = find(body, (size_t)(end - body), endline);
	if (!stop)
		goto bad;
	/* RFC 1421 4.6.1.1: a header line means an encrypted (or otherwise wrapped) body. */
	if (memchr(body, ':', (size_t)(stop - body)))
		goto bad;
	blen = (size_t)(stop - body);
	out->der = malloc(blen ? blen : 1);
	if (!out->der)
		goto bad;
	if (sodium_base642bin(out->der, blen, body, blen, " \t\r\n", &dlen, &b64end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64end != stop || dlen == 0)
		goto bad;
	out->len = dlen;
	*pos = (size_t)(stop - text) + strlen(endline);
	return 1;
bad:
	if (out->der)
		crypto_wipe(out->der, blen);
	free(out->der);
	memset(out, 0, sizeof(*out));
	return -1;
}
