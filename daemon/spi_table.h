/*
 * A hash table from a 64-bit key (an IKE SPI, or a key derived from a
 * Child SA SPI/reqid) to a pointer. Chained buckets, power-of-two size,
 * grows at load 1 so lookups stay O(1) at 100,000s of SAs (design.md
 * rule 13: scale is designed in). Keys are assumed random (SPIs are), but are mixed
 * anyway so derived keys spread too.
 */
#ifndef XIKED_SPI_TABLE_H
#define XIKED_SPI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spi_table;

/* NULL on allocation failure. */
struct spi_table *spi_table_new(void);
/* Frees the table, not the values. NULL-safe. */
void spi_table_free(struct spi_table *t);
/* Inserts key -> val (borrowed). Duplicate keys are refused: -EEXIST; -ENOMEM. */
int spi_table_add(struct spi_table *t, uint64_t key, void *val);
/* The value for key, or NULL. */
void *spi_table_get(const struct spi_table *t, uint64_t key);
/* Removes key; returns its value or NULL if absent. */
void *spi_table_del(struct spi_table *t, uint64_t key);
size_t spi_table_count(const struct spi_table *t);
/* Calls fn for every entry; fn must not modify the table. */
void spi_table_each(const struct spi_table *t, void (*fn)(uint64_t key, void *val, void *ctx),
		    void *ctx);

#endif
