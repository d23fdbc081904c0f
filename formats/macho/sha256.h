/* SPDX-License-Identifier: MIT */
#ifndef SKEYS_FORMATS_SHA256_H
#define SKEYS_FORMATS_SHA256_H

#include <stddef.h>
#include <stdint.h>

void skeys_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
