/* The machine's measured FMA peak (bench/peak.h), for scripts that divide
 * by it (bench/compare_onnx.sh). Usage: bench_peak THREADS...
 * Prints one line per thread count: "peak THREADS GFLOP/s ISA". */
#include <stdlib.h>

#include "peak.h"

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        int t = atoi(argv[i]);
        if (t < 1) t = 1;
        printf("peak %d %.1f %s\n", t, measure_peak(t), peak_isa());
    }
    return 0;
}
