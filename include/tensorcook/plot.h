/* Line plots to PNG (cairo), for recipes that chart series. */
#ifndef TENSORCOOK_PLOT_H
#define TENSORCOOK_PLOT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label;
    int n;
    const double *x, *y;  /* n points; NaN y values leave gaps */
    double r, g, b;       /* colour */
    bool dashed;
} tc_plot_line;

/* Written atomically; an error names the file. */
tc_status tc_plot_lines(const char *path, const char *title, const char *xlabel, const char *ylabel, int n_lines,
                        const tc_plot_line *lines);

#ifdef __cplusplus
}
#endif
#endif
