/*
 * fake_hub.h — a Hugging Face Hub look-alike on 127.0.0.1 for the pull tests (libmicrohttpd,
 * own thread). It serves generated GGUF-looking files in the Hub's layout:
 *
 *   GET /api/models/{owner}/{name}                     model info (sha, gated, siblings)
 *   GET /api/models/{owner}/{name}/tree/{rev}?recursive=true[&cursor=N]
 *                                                      3 entries a page, Link rel="next"
 *   GET /{owner}/{name}/resolve/{rev}/{path}            302 to /cdn/{owner}/{name}/{path}
 *   GET /cdn/{owner}/{name}/{path}                      the bytes; honours "Range: bytes=N-"
 *
 * Repositories: test/Tiny-GGUF (Q4_K_M, Q8_0, two projectors, a README kept in git),
 * test/Split-GGUF (Q4_K_M in three parts inside Q4_K_M/, Q8_0 whole), test/NoQ4-GGUF
 * (F16, Q8_0, and a Q2_K small enough to live in git: verified by its git blob id), test/Gated-GGUF (needs "Authorization: Bearer hf_test_token"),
 * test/Huge-GGUF (announces a 4 PB file). Anything else is RepoNotFound (401 without a token,
 * 404 with one, as the Hub does). Fault modes make a file drop its connection, arrive
 * corrupted, ignore Range, or trickle slowly.
 */
#ifndef EMBER_TESTS_FAKE_HUB_H
#define EMBER_TESTS_FAKE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_HUB_TOKEN "hf_test_token"

typedef struct fake_hub fake_hub;

/* Starts the server on an ephemeral port; NULL on failure. */
fake_hub *fake_hub_start(void);
void fake_hub_stop(fake_hub *hub);
/* "http://127.0.0.1:PORT" */
const char *fake_hub_url(const fake_hub *hub);

/* The generated content of a file ("test/Tiny-GGUF", "Tiny-Q4_K_M.gguf"); NULL if unknown. */
const uint8_t *fake_hub_content(const fake_hub *hub, const char *repo, const char *path,
                                size_t *size);

/* Fault modes (by file path, any repository); reset with fake_hub_reset. */
void fake_hub_drop_after(fake_hub *hub, const char *path, uint64_t bytes); /* once */
void fake_hub_corrupt(fake_hub *hub, const char *path, bool on);
void fake_hub_ignore_range(fake_hub *hub, bool on);
void fake_hub_throttle(fake_hub *hub, uint64_t bytes_per_s); /* 0 = full speed */
void fake_hub_reset(fake_hub *hub);

/* What the server saw: GETs of a file's bytes, and the Range header of the last one
 * ("" when there was none). */
int fake_hub_requests(fake_hub *hub, const char *path);
void fake_hub_last_range(fake_hub *hub, const char *path, char *out, size_t size);
/* Requests to the tree endpoint (pages). */
int fake_hub_tree_requests(fake_hub *hub);

#endif
