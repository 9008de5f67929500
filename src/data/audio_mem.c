/* libsndfile's virtual I/O callbacks over a memory buffer. */
#include "audio_mem.h"

#include <stdlib.h>
#include <string.h>

static sf_count_t mem_len(void *u) { return (sf_count_t)((tc_audio_mem *)u)->size; }

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
    tc_audio_mem *m = u;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (sf_count_t)m->pos : (sf_count_t)m->size;
    sf_count_t p = base + off;
    if (p < 0) return -1;
    m->pos = (size_t)p;
    return p;
}

static sf_count_t mem_read(void *dst, sf_count_t n, void *u)
{
    tc_audio_mem *m = u;
    if (n <= 0 || m->pos >= m->size) return 0;
    size_t k = (size_t)n < m->size - m->pos ? (size_t)n : m->size - m->pos;
    memcpy(dst, m->data + m->pos, k);
    m->pos += k;
    return (sf_count_t)k;
}

static sf_count_t mem_write(const void *src, sf_count_t n, void *u)
{
    tc_audio_mem *m = u;
    if (n <= 0) return 0;
    size_t end = m->pos + (size_t)n;
    if (end > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < end) cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p) { m->failed = 1; return 0; }
        m->data = p;
        m->cap = cap;
    }
    if (m->pos > m->size) memset(m->data + m->size, 0, m->pos - m->size); /* a seek past the end */
    memcpy(m->data + m->pos, src, (size_t)n);
    m->pos = end;
    if (end > m->size) m->size = end;
    return n;
}

static sf_count_t mem_tell(void *u) { return (sf_count_t)((tc_audio_mem *)u)->pos; }

SF_VIRTUAL_IO tc_audio_mem_io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
