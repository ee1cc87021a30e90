/*
 * options.h — the flags every model command shares (-m, -c, -t, --verbose, modes, sampling)
 * and strict parsing of their values. A command loops over argv and offers each flag here
 * first; what is not a common flag is its own.
 */
#ifndef EMBER_CLI_OPTIONS_H
#define EMBER_CLI_OPTIONS_H

#include "ember.h"

typedef struct cli_options {
    ember_engine_params engine;
    ember_run_params run;
    char model_path[1024];
    char mmproj_path[1024];
    char *grammar_text;       /* owned: from --grammar or --grammar-file */
    char *agent_grammar;      /* owned: from --agent-grammar-file */
    bool seed_given;
    const char *tools_list;   /* --tools */
    ember_tools_options tools_opts;
    ember_tools *tools;       /* owned: created by cli_options_finish when --tools is given */
    /* vision */
    const char *image_paths[16]; /* --image, in order */
    int n_images;
    bool want_vision;         /* set by a command that may take images later (ember run) */
    const char *save_crops;   /* --save-crops DIR */
    const char *draw_boxes;   /* --draw-boxes FILE.png */
    /* remote engines */
    const char *engine_urls[16]; /* --engine URL, in order (replaces -m) */
    int n_engine_urls;
} cli_options;

typedef enum cli_parse {
    CLI_PARSE_OK,         /* the flag (and its value) was consumed */
    CLI_PARSE_UNKNOWN,    /* not a common flag */
    CLI_PARSE_ERROR,      /* a common flag with a bad or missing value; message printed */
} cli_parse;

void cli_options_init(cli_options *o);
void cli_options_free(cli_options *o);
/* Tries argv[*i] as a common flag; advances *i past a consumed value. */
cli_parse cli_options_parse(cli_options *o, int argc, char **argv, int *i);
/* After parsing: resolves the model and fills defaults (seed). Returns 0, or the exit status
 * after printing why: 2 for usage errors, 1 when the model or tools cannot be had. */
int cli_options_finish(cli_options *o, const char *command);
/* The help text for the common flags. */
extern const char cli_options_help[];

bool cli_parse_int(const char *flag, const char *text, long min, long max, long *out);
bool cli_parse_float(const char *flag, const char *text, double min, double max, double *out);
/* Loads the --image files into a malloc'd array (*n of them); prints the error and returns
 * false on failure. */
bool cli_load_images(cli_options *o, const char *command, ember_image ***images, int *n);
void cli_free_images(ember_image **images, int n);
/* After a run: writes the zooms' crops into --save-crops DIR and the answer's boxes onto
 * --draw-boxes FILE (boxes of image 2 go to FILE-2.png, …); `turn` numbers the files of
 * `ember run` (0 for ask). Prints what it wrote on stderr; false if a write failed. */
bool cli_vision_outputs(const cli_options *o, const ember_result *result, const ember_chat *chat, int turn);
/* Reads a whole file into a malloc'd string; prints an error and returns NULL on failure. */
char *cli_read_file(const char *path);

#endif
