/*
 * media.c — see media.h.
 */
#include "server/media.h"
#include "core/strbuf.h"

#include <stdlib.h>
#include <string.h>

const char *srv_image_mime(const unsigned char *d, size_t n) {
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return "image/png";
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "image/jpeg";
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return "image/gif";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return "image/webp";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "image/bmp";
    return "application/octet-stream";
}

static char *data_url(const unsigned char *d, size_t n) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *mime = srv_image_mime(d, n);
    size_t head = strlen("data:;base64,") + strlen(mime);
    char *out = malloc(head + (n + 2) / 3 * 4 + 1);
    if (!out) return NULL;
    char *p = out + sprintf(out, "data:%s;base64,", mime);
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        *p++ = B64[v >> 18 & 63], *p++ = B64[v >> 12 & 63], *p++ = B64[v >> 6 & 63], *p++ = B64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0);
        *p++ = B64[v >> 18 & 63], *p++ = B64[v >> 12 & 63];
        *p++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
        *p++ = '=';
    }
    *p = '\0';
    return out;
}

json_t *srv_message_images_json(const srv_message *m) {
    if (!m->n_images) return NULL;
    json_t *list = json_array();
    for (int i = 0; list && i < m->n_images; i++) {
        char *url = data_url(m->images[i].data, m->images[i].len);
        if (!url || json_array_append_new(list, json_string(url)) != 0) {
            free(url);
            json_decref(list);
            return NULL;
        }
        free(url);
    }
    return list;
}
