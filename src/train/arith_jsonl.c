#include <stdlib.h>
/* arith_jsonl.c — the arithmetic task family as a JSONL dataset for `ember eval`. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ember/run.h"
#include "ember/train.h"
#include "train/arith.h"

ember_status ember_arith_write_jsonl(const char *path, uint64_t seed, int64_t count, bool held_out,
                                     const ember_trace_style *traces, ember_error *err) {
    if (!path || count < 0) return ember_fail(err, EMBER_ERR_INVALID, "need a path and a count >= 0");
    FILE *f = fopen(path, "w");
    if (!f) return ember_fail(err, EMBER_ERR_IO, "%s: %s", path, strerror(errno));
    bool ok = true;
    for (int64_t i = 0; ok && i < count; i++) {
        arith_problem p;
        arith_problem_at(seed, (uint64_t)i, held_out, &p);
        const uint64_t variant = arith_mix(seed + (uint64_t)i * 7919u);
        strbuf q = {0}, e = {0};
        arith_question(&p, variant, &q);
        arith_canonical(&p, &e);
        char answer[32];
        snprintf(answer, sizeof answer, "%ld", arith_answer(&p));
        json_t *o = json_pack("{s:s,s:s,s:s}", "question", strbuf_str(&q), "answer", answer, "expression",
                              strbuf_str(&e));
        if (o && traces) {
            strbuf r = {0};
            const int agent = (int)(i % 8);
            if (traces->reorder_agents) {
                char approach[160];
                ember_contemplate_approach(agent, approach, sizeof approach);
                json_object_set_new(o, "approach", json_string(approach));
            }
            arith_reasoning(&p, *traces, variant, arith_agent_reorders(*traces, agent), &r);
            json_object_set_new(o, "reasoning", json_string(strbuf_str(&r)));
            json_object_set_new(o, "mode", json_string("thinking"));
            strbuf_free(&r);
        }
        char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        ok = line && fprintf(f, "%s\n", line) > 0;
        free(line);
        json_decref(o);
        strbuf_free(&q);
        strbuf_free(&e);
    }
    if (fclose(f) != 0) ok = false;
    return ok ? EMBER_OK : ember_fail(err, EMBER_ERR_IO, "cannot write %s", path);
}
