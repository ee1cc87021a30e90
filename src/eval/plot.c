/*
 * plot.c — line plots as PNG through PLplot (Debian's libplplot, cairo driver). Each plot
 * opens a stream of its own and ends it, so nothing is left behind between calls. PLplot is
 * not thread-safe: plot from one thread at a time.
 */
#include "ember/eval.h"

#include <float.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

static void range(const ember_plot_series *s, int n_series, bool y, double *lo, double *hi) {
    *lo = DBL_MAX, *hi = -DBL_MAX;
    for (int k = 0; k < n_series; k++) {
        for (int i = 0; i < s[k].n; i++) {
            const double v = y ? s[k].y[i] : s[k].x[i];
            const double l = y && s[k].y_low ? s[k].y_low[i] : v, h = y && s[k].y_high ? s[k].y_high[i] : v;
            if (fmin(v, l) < *lo) *lo = fmin(v, l);
            if (fmax(v, h) > *hi) *hi = fmax(v, h);
        }
    }
    if (*lo > *hi) *lo = 0, *hi = 1;
    const double pad = (*hi - *lo) * 0.08 + (*hi == *lo ? 1 : 0);
    *lo -= pad, *hi += pad;
}

ember_status ember_plot_png(const char *path, const char *title, const char *x_label, const char *y_label,
                            const ember_plot_series *series, int n_series, ember_error *err) {
    if (!path || !series || n_series < 1 || n_series > 12)
        return ember_fail(err, EMBER_ERR_INVALID, "a plot needs a path and 1..12 series");
    for (int k = 0; k < n_series; k++)
        if (series[k].n < 1 || !series[k].x || !series[k].y)
            return ember_fail(err, EMBER_ERR_INVALID, "plot series %d has no points", k + 1);
    FILE *probe = fopen(path, "wb");
    if (!probe) return ember_fail(err, EMBER_ERR_IO, "cannot write %s", path);
    fclose(probe);

    PLINT stream = 0;
    plmkstrm(&stream);
    if (stream < 0) return ember_fail(err, EMBER_ERR_UNSUPPORTED, "PLplot cannot open a stream");
    plsdev("pngcairo");
    plsfnam(path);
    plspage(0, 0, 960, 640, 0, 0);
    plscolbg(255, 255, 255);
    plscol0(15, 0, 0, 0); /* axes and labels in black */
    plinit();
    double x0, x1, y0, y1;
    range(series, n_series, false, &x0, &x1);
    range(series, n_series, true, &y0, &y1);
    plcol0(15);
    /* the plot takes the left part of the page and the legend the right, so no legend
     * covers a curve whatever the data */
    pladv(0);
    plvpor(0.1, 0.66, 0.11, 0.9);
    plwind(x0, x1, y0, y1);
    plbox("bcnstg", 0, 0, "bcnstvg", 0, 0);
    pllab(x_label ? x_label : "", y_label ? y_label : "", title ? title : "");

    static const PLINT colours[] = {1, 9, 3, 8, 10, 13, 2, 4, 12, 6, 7, 11};
    PLINT opt[12], text_colours[12], line_colours[12], line_styles[12], sym_colours[12], sym_numbers[12];
    PLFLT line_widths[12], sym_scales[12];
    const char *texts[12], *symbols[12];
    for (int k = 0; k < n_series; k++) {
        const ember_plot_series *s = &series[k];
        plcol0(colours[k]);
        plwidth(2.0);
        if (s->n > 1) plline(s->n, s->x, s->y);
        plpoin(s->n, s->x, s->y, 17);
        if (s->y_low && s->y_high) plerry(s->n, s->x, s->y_low, s->y_high);
        opt[k] = PL_LEGEND_LINE | PL_LEGEND_SYMBOL;
        text_colours[k] = 15;
        line_colours[k] = sym_colours[k] = colours[k];
        line_styles[k] = 1;
        line_widths[k] = 2.0;
        sym_scales[k] = 1.0;
        sym_numbers[k] = 1;
        symbols[k] = "#(728)";
        texts[k] = s->label ? s->label : "";
    }
    PLFLT legend_w, legend_h;
    plcol0(15);
    pllegend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_OUTSIDE | PL_POSITION_RIGHT,
             0.02, 0.0, 0.1, 0, 15, 1, 0, 0, n_series, opt, 1.0, 0.8, 2.0, 0.0, text_colours, texts, NULL, NULL, NULL,
             NULL, line_colours, line_styles, line_widths, sym_colours, sym_scales, sym_numbers, symbols);
    plend1();
    if (access(path, F_OK) != 0) return ember_fail(err, EMBER_ERR_IO, "PLplot wrote no %s", path);
    return EMBER_OK;
}
