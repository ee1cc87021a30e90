/*
 * media.h — a request message's images as data: URLs again, so a stored conversation keeps
 * them (the web app shows them as thumbnails and sends them back with the history).
 */
#ifndef EMBER_SERVER_MEDIA_H
#define EMBER_SERVER_MEDIA_H

#include "server/request.h"

#include <jansson.h>

/* The MIME type of an encoded image from its signature ("application/octet-stream" when
 * unknown: the engine refused such a file already). */
const char *srv_image_mime(const unsigned char *data, size_t len);
/* ["data:image/png;base64,…", …] of the message's images; NULL when it has none or out of
 * memory. */
json_t *srv_message_images_json(const srv_message *m);

#endif
