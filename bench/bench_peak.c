/* The machine's measured FMA peak (bench/peak.h), for scripts that divide
 * by it (bench/compare_onnx.sh). Usage: bench_peak THREADS...
 * Prints one line per thread count: "peak THREADS GFLOP/s ISA wall GFLOP/s",
 * the peak from each loop's CPU time, then the wall-clock rate the process
 * got (lower when other programs share the cores). With PEAK_ALL set, one
 * more line per narrower loop this CPU runs (avx2, sse). */
#include <stdlib.h>

#include "peak.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int t = atoi(argv[i]);
        if (t < 1) t = 1;
        double wall, p = measure_peak_wall(t, &wall);
        printf("peak %d %.1f %s wall %.1f\n", t, p, peak_isa(), wall);
        if (getenv("PEAK_ALL")) /* every narrower loop too */
            for (const char *const *isa = (const char *const[]){"avx2", "sse", NULL}; *isa; isa++)
                if (peak_width(*isa) < peak_width(peak_isa())) {
                    p = measure_peak_isa_wall(t, *isa, &wall);
                    printf("peak %d %.1f %s wall %.1f\n", t, p, peak_isa_loop(*isa), wall);
                }
    }
    return 0;
}
