/*
 * info.c — GET /v1/ember/info: what this server offers a client such as the web app, so it
 * never hard-codes limits: the model, the modes and reasoning strengths, the most
 * Contemplating agents a request may ask for, the context, whether images are accepted, the
 * server-side tools, and whether artifacts can be asked for.
 */
#include "server/server.h"

enum MHD_Result srv_handle_info(srv_conn *c) {
    ember_server *s = c->srv;
    json_t *tools = json_array();
    for (size_t i = 0; s->tools && i < ember_tools_count(s->tools); i++)
        json_array_append_new(tools, json_string(ember_tools_name(s->tools, i)));
    return srv_respond_json(c, 200, json_pack(
        "{s:s, s:s, s:s, s:i, s:i, s:i, s:[sss], s:[ssss], s:s, s:b, s:o, s:b, s:i}",
        "object", "ember.info", "model", s->model_id, "chat_format", s->chat_format,
        "n_ctx", s->n_ctx, "parallel", s->parallel, "max_agents", s->max_agents,
        "modes", "instant", "thinking", "contemplating",
        "strengths", "low", "medium", "high", "xhigh", "default_mode", "thinking",
        "vision", ember_engine_has_vision(s->engine), "tools", tools, "artifacts", 1,
        "max_images", SRV_MAX_IMAGES));
}
