/* libsndfile virtual I/O on a memory buffer (reading a file's bytes, or
 * building a WAV in memory before it is written atomically). */
#ifndef TC_AUDIO_MEM_H
#define TC_AUDIO_MEM_H

#include <sndfile.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;     /* read: the caller's bytes; write: grown with realloc */
    size_t size, cap;  /* bytes in use, allocated (write) */
    size_t pos;
    int failed;        /* write: out of memory */
} tc_audio_mem;

extern SF_VIRTUAL_IO tc_audio_mem_io;

#endif
