/* A structural check of MATLAB v5 .mat files before libmatio reads them
 * (matconvnet.c): libmatio allocates what a variable's header declares
 * before it reads the data, so a forged size asks for any amount of memory.
 * This walks every variable (inflating compressed ones as a stream, without
 * keeping them) and refuses any array whose declared elements the bytes
 * that follow cannot hold. */
#ifndef TC_IO_MAT_CHECK_H
#define TC_IO_MAT_CHECK_H

#include "tensorcook/core.h"

/* TC_OK for a v5 file whose sizes are consistent, and for v7.3 files (HDF5,
 * left to libmatio's HDF5 reader); otherwise one error naming the file. */
tc_status tc_mat_check_sizes(const char *path);

#endif
