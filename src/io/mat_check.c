/* MATLAB v5 .mat size check (see mat_check.h). The layout walked is
 * MathWorks' "MAT-File Format" (matfile_format.pdf): a 128-byte header
 * (text, subsystem offset, version 0x0100, endian indicator "IM"/"MI"),
 * then data elements with an 8-byte tag (type, byte count; a "small"
 * element packs both in 4 bytes and its data in the next 4), padded to 8
 * bytes. miMATRIX (14) holds array flags, dimensions, a name and, by class,
 * the data (numeric, char), the cells (nested miMATRIX), or the field names
 * and fields (struct, object); miCOMPRESSED (15) holds zlib-compressed
 * elements. The rule checked, per array: the data elements that follow
 * hold the declared number of elements (for cells and structs: each
 * element takes at least a tag), so what libmatio allocates stays within a
 * small multiple of the file's (or the inflated stream's) real bytes. */
#include "mat_check.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "../core/internal.h"

enum { MI_INT8 = 1, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 9, MI_INT64 = 12,
       MI_UINT64, MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 };
enum { MX_CELL = 1, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE, MX_DOUBLE, MX_UINT64 = 15 };
#define MAX_DEPTH 64

typedef struct {
    const char *path;
    FILE *f;
    bool swap;
    uint64_t file_left; /* bytes of the file not yet consumed */
    /* inflating a miCOMPRESSED element: its remaining compressed bytes */
    z_stream *z;
    uint64_t z_in_left;
    bool z_end;
    unsigned char in[16384];
    char var[64]; /* the top-level variable being checked */
} src;

static tc_status bad(src *s, const char *what)
{
    return tc_error(TC_ERR_FORMAT, "%s: damaged .mat file: %s%s%s", s->path, what, s->var[0] ? " in variable " : "",
                    s->var);
}

/* exactly n bytes (dst NULL: skipped), from the file or the inflater */
static tc_status get(src *s, void *dst, uint64_t n)
{
    unsigned char scratch[4096];
    if (!s->z) {
        if (n > s->file_left) return bad(s, "truncated (an element runs past the end of the file)");
        s->file_left -= n;
        if (dst) return fread(dst, 1, (size_t)n, s->f) == n ? TC_OK : bad(s, "unreadable");
        return fseeko(s->f, (off_t)n, SEEK_CUR) == 0 ? TC_OK : bad(s, "unreadable");
    }
    while (n > 0) {
        size_t chunk = dst ? (size_t)n : (n < sizeof scratch ? (size_t)n : sizeof scratch);
        s->z->next_out = dst ? dst : scratch;
        s->z->avail_out = (uInt)chunk;
        while (s->z->avail_out > 0) {
            if (s->z_end) return bad(s, "a compressed variable ends before its elements do");
            if (s->z->avail_in == 0) {
                size_t want = s->z_in_left < sizeof s->in ? (size_t)s->z_in_left : sizeof s->in;
                if (want == 0) return bad(s, "truncated compressed variable");
                if (fread(s->in, 1, want, s->f) != want) return bad(s, "unreadable");
                s->z_in_left -= want, s->file_left -= want;
                s->z->next_in = s->in, s->z->avail_in = (uInt)want;
            }
            int rc = inflate(s->z, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) s->z_end = true;
            else if (rc != Z_OK) return bad(s, "corrupt compressed variable");
        }
        if (dst) dst = (unsigned char *)dst + chunk;
        n -= chunk;
    }
    return TC_OK;
}

static uint32_t u32(const src *s, const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return s->swap ? __builtin_bswap32(v) : v;
}

typedef struct { uint32_t type; uint64_t n; bool small; unsigned char data[4]; } tag;

/* a tag within budget *left (the bytes the enclosing element still owns) */
static tc_status read_tag(src *s, uint64_t *left, tag *t)
{
    unsigned char b[8];
    if (*left < 8) return bad(s, "an element overruns the array that holds it");
    tc_status st = get(s, b, 8);
    if (st) return st;
    *left -= 8;
    uint32_t w = u32(s, b);
    t->small = (w >> 16) != 0;
    if (t->small) {
        t->type = w & 0xffff, t->n = w >> 16;
        if (t->n > 4) return bad(s, "a small element of more than 4 bytes");
        memcpy(t->data, b + 4, 4);
    } else {
        t->type = w, t->n = u32(s, b + 4);
    }
    return TC_OK;
}

static uint64_t padded(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* the data of a normal (not small) element: into dst (at most cap bytes kept) or skipped, with its padding */
static tc_status take(src *s, uint64_t *left, const tag *t, void *dst, size_t cap)
{
    if (t->small) {
        if (dst) memcpy(dst, t->data, t->n < cap ? (size_t)t->n : cap);
        return TC_OK;
    }
    uint64_t n = padded(t->n);
    if (n > *left) n = t->n; /* the last element's padding may be missing */
    if (n > *left) return bad(s, "an element overruns the array that holds it");
    *left -= n;
    size_t keep = dst ? (t->n < cap ? (size_t)t->n : cap) : 0;
    tc_status st = keep ? get(s, dst, keep) : TC_OK;
    return st ? st : get(s, NULL, n - keep);
}

static int elem_size(uint32_t type)
{
    switch (type) {
    case MI_INT8: case MI_UINT8: case MI_UTF8: return 1;
    case MI_INT16: case MI_UINT16: case MI_UTF16: return 2;
    case MI_INT32: case MI_UINT32: case MI_SINGLE: case MI_UTF32: return 4;
    case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
    default: return 0;
    }
}

/* the data element of a numeric or char array: it must hold numel values */
static tc_status data_part(src *s, uint64_t *left, uint64_t numel, bool is_char)
{
    if (*left == 0 && numel == 0) return TC_OK; /* an empty array may omit it */
    tag t;
    tc_status st = read_tag(s, left, &t);
    if (st) return st;
    int es = elem_size(t.type);
    if (es == 0) return bad(s, "array data of an unknown type");
    uint64_t need;
    if (__builtin_mul_overflow(numel, (uint64_t)(is_char ? 1 : es), &need) || need > t.n) {
        char msg[160];
        snprintf(msg, sizeof msg, "an array declares %llu elements but holds %llu bytes", (unsigned long long)numel,
                 (unsigned long long)t.n);
        return bad(s, msg);
    }
    return take(s, left, &t, NULL, 0);
}

static tc_status matrix(src *s, uint64_t left, int depth, bool top);

/* count nested miMATRIX elements, each taking at least a tag */
static tc_status children(src *s, uint64_t *left, uint64_t count, int depth)
{
    uint64_t need;
    if (__builtin_mul_overflow(count, (uint64_t)8, &need) || need > *left) {
        char msg[160];
        snprintf(msg, sizeof msg, "a cell or struct array declares %llu elements in %llu bytes",
                 (unsigned long long)count, (unsigned long long)*left);
        return bad(s, msg);
    }
    for (uint64_t i = 0; i < count; i++) {
        tag t;
        tc_status st = read_tag(s, left, &t);
        if (st) return st;
        if (t.type != MI_MATRIX || t.small) return bad(s, "a cell or field that is not an array");
        uint64_t n = padded(t.n);
        if (n > *left) n = t.n;
        if (n > *left) return bad(s, "an element overruns the array that holds it");
        *left -= n;
        if ((st = matrix(s, t.n, depth + 1, false))) return st;
        if (n > t.n && (st = get(s, NULL, n - t.n))) return st;
    }
    return TC_OK;
}

/* one miMATRIX element's contents (left: its byte count) */
static tc_status matrix(src *s, uint64_t left, int depth, bool top)
{
    if (depth > MAX_DEPTH) return bad(s, "arrays nested too deep");
    if (left == 0) return TC_OK; /* an empty array */
    tag t;
    unsigned char flags[8];
    tc_status st = read_tag(s, &left, &t);
    if (!st && (t.type != MI_UINT32 || t.n != 8)) st = bad(s, "array flags missing");
    if (!st) st = take(s, &left, &t, flags, 8);
    if (st) return st;
    uint32_t cls = u32(s, flags) & 0xff;
    bool complex = u32(s, flags) & 0x800;
    uint64_t nzmax = u32(s, flags + 4);
    /* dimensions */
    unsigned char dims[4 * 32];
    if ((st = read_tag(s, &left, &t))) return st;
    if (t.type != MI_INT32 || t.n < 8 || t.n > sizeof dims || t.n % 4) return bad(s, "bad array dimensions");
    if ((st = take(s, &left, &t, dims, sizeof dims))) return st;
    uint64_t numel = 1;
    int rank = (int)(t.n / 4);
    for (int d = 0; d < rank; d++) {
        int32_t v = (int32_t)u32(s, dims + 4 * d);
        if (v < 0 || __builtin_mul_overflow(numel, (uint64_t)v, &numel)) return bad(s, "bad array dimensions");
    }
    /* name */
    char name[64] = {0};
    if ((st = read_tag(s, &left, &t))) return st;
    if (t.type != MI_INT8) return bad(s, "array name missing");
    if ((st = take(s, &left, &t, name, sizeof name - 1))) return st;
    if (top) snprintf(s->var, sizeof s->var, "%s", name);
    switch (cls) {
    case MX_CELL: st = children(s, &left, numel, depth); break;
    case MX_OBJECT: /* the class name, then as a struct */
        if ((st = read_tag(s, &left, &t)) || (st = take(s, &left, &t, NULL, 0))) return st;
        /* fall through */
    case MX_STRUCT: {
        unsigned char lenb[4];
        if ((st = read_tag(s, &left, &t))) return st;
        if (t.type != MI_INT32 || t.n != 4) return bad(s, "struct field name length missing");
        if ((st = take(s, &left, &t, lenb, 4))) return st;
        uint32_t len = u32(s, lenb);
        if ((st = read_tag(s, &left, &t))) return st;
        if (t.type != MI_INT8 || len == 0 || len > 4096 || t.n % len) return bad(s, "bad struct field names");
        uint64_t nfields = t.n / len, count;
        if ((st = take(s, &left, &t, NULL, 0))) return st;
        if (__builtin_mul_overflow(numel, nfields, &count)) return bad(s, "a struct array too large");
        st = children(s, &left, count, depth);
        break;
    }
    case MX_SPARSE: /* row indices, column starts, values: nzmax and the columns must fit */
        if (nzmax > left || (rank >= 2 && (uint64_t)u32(s, dims + 4) > left / 4))
            return bad(s, "a sparse array declares more than it holds");
        st = get(s, NULL, left), left = 0;
        break;
    case MX_CHAR: st = data_part(s, &left, numel, true); break;
    default:
        if (cls < MX_DOUBLE || cls > MX_UINT64) {
            char msg[64];
            snprintf(msg, sizeof msg, "unsupported array class %u", (unsigned)cls);
            return bad(s, msg);
        }
        st = data_part(s, &left, numel, false);
        if (!st && complex) st = data_part(s, &left, numel, false);
    }
    return st ? st : get(s, NULL, left); /* whatever the array holds beyond (padding) */
}

/* a miCOMPRESSED element of n bytes: the array at the start of its inflated
 * stream (libmatio reads one variable from each, as MATLAB writes them) */
static tc_status compressed(src *s, uint64_t n)
{
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) return tc_error(TC_ERR_MEMORY, "%s: zlib: out of memory", s->path);
    s->z = &z, s->z_in_left = n, s->z_end = false;
    tag t;
    uint64_t unbounded = UINT64_MAX;
    tc_status st = read_tag(s, &unbounded, &t);
    if (!st && t.type == MI_MATRIX && !t.small) st = matrix(s, t.n, 0, true);
    inflateEnd(&z);
    s->z = NULL;
    if (!st && s->z_in_left) { /* the rest of the compressed bytes */
        uint64_t rest = s->z_in_left;
        s->z_in_left = 0;
        st = get(s, NULL, rest);
    }
    return st;
}

tc_status tc_mat_check_sizes(const char *path)
{
    src s = {.path = path};
    s.f = fopen(path, "rb");
    if (!s.f) return tc_error(TC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[128];
    tc_status st = TC_OK;
    if (fseeko(s.f, 0, SEEK_END) != 0 || ftello(s.f) < 128 || fseeko(s.f, 0, SEEK_SET) != 0 ||
        fread(h, 1, 128, s.f) != 128) {
        st = tc_error(TC_ERR_FORMAT, "%s: not a readable MATLAB .mat file (too short for a v5 header)", path);
    } else if (!(h[126] == 'I' && h[127] == 'M') && !(h[126] == 'M' && h[127] == 'I')) {
        st = tc_error(TC_ERR_FORMAT, "%s: not a readable MATLAB .mat file (no v5 endian indicator)", path);
    }
    if (st) {
        fclose(s.f);
        return st;
    }
    fseeko(s.f, 0, SEEK_END);
    s.file_left = (uint64_t)ftello(s.f) - 128;
    fseeko(s.f, 128, SEEK_SET);
    s.swap = h[126] == 'M';
    unsigned version = s.swap ? (unsigned)(h[124] << 8 | h[125]) : (unsigned)(h[125] << 8 | h[124]);
    if (version == 0x0200) { /* v7.3: an HDF5 file, read by libmatio through HDF5 */
        fclose(s.f);
        return TC_OK;
    }
    if (version != 0x0100) {
        fclose(s.f);
        return tc_error(TC_ERR_FORMAT, "%s: not a readable MATLAB .mat file (version 0x%04x)", path, version);
    }
    while (!st && s.file_left >= 8) {
        tag t;
        uint64_t big = s.file_left;
        s.var[0] = '\0';
        if ((st = read_tag(&s, &big, &t))) break;
        if (t.n > s.file_left) {
            st = bad(&s, "truncated (a variable runs past the end of the file)");
        } else if (t.type == MI_COMPRESSED && !t.small) {
            st = compressed(&s, t.n);
        } else if (t.type == MI_MATRIX && !t.small) {
            st = matrix(&s, t.n, 0, true); /* reads t.n bytes through get() */
            uint64_t pad = padded(t.n) - t.n;
            if (!st && pad <= s.file_left) st = get(&s, NULL, pad);
        } else {
            uint64_t left = s.file_left;
            st = take(&s, &left, &t, NULL, 0);
        }
    }
    fclose(s.f);
    return st;
}
