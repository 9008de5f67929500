/* The forecaster's series loading (src/data/series.c): CSV with and without
 * a header, CRLF and blank lines; the price API's JSON; the synthetic
 * generator's determinism; windows against a direct computation; bad input:
 * missing, empty, random bytes, malformed lines named by their number,
 * malformed JSON entries. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static const char *p(const char *name)
{
    static char buf[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static const char *write_text(const char *name, const char *text, size_t n)
{
    const char *path = p(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    return path;
}
#define WRITE(name, text) write_text(name, text, sizeof(text) - 1)

static void csv_files(void **state)
{
    tc_series *s = tc_load_series_csv(WRITE("a.csv", "date,usd,eur\r\n2020-01-01,1.5,2\r\n\r\n2020-01-02,-3e2,4.25\n2020-01-03,5,6"));
    tc_assert_ok(s);
    assert_int_equal(s->steps, 3);
    assert_int_equal(s->series, 2);
    const double want[6] = {1.5, 2, -300, 4.25, 5, 6};
    for (int i = 0; i < 6; i++) assert_true(s->v[i] == want[i]);
    tc_series_free(s);
    s = tc_load_series_csv(WRITE("b.csv", "d1,7\nd2,8\n")); /* no header */
    tc_assert_ok(s);
    assert_int_equal(s->steps, 2);
    assert_int_equal(s->series, 1);
    assert_true(s->v[1] == 8);
    tc_series_free(s);
    /* bad lines, named by their number in the file (blank lines count) */
    tc_assert_error(tc_load_series_csv(WRITE("c.csv", "date,v\nd1,1\n\nd2,x\n")), "c.csv: line 4", "date,value");
    tc_assert_error(tc_load_series_csv(WRITE("d.csv", "d1,1,2\nd2,3\n")), "d.csv: line 2", "2 number(s)");
    tc_assert_error(tc_load_series_csv(WRITE("e.csv", "d1,1\nd2,inf\n")), "e.csv: line 2");
    tc_assert_error(tc_load_series_csv(WRITE("f.csv", "d1,1\nd2 2\n")), "f.csv: line 2");
    tc_assert_error(tc_load_series_csv(WRITE("g.csv", "d1,1,2,3,4,5,6,7,8,9\n")), "g.csv: no date,value lines");
    tc_assert_error(tc_load_series_csv(WRITE("h.csv", "d1,1\nd2,2\0junk\n")), "h.csv: line 2");
    tc_assert_error(tc_load_series_csv(WRITE("empty.csv", "")), "empty.csv: no date,value lines");
    tc_assert_error(tc_load_series_csv(p("missing.csv")), "missing.csv: cannot open", "No such file");
    char noise[512];
    tc_rng r = tc_rng_new(3);
    for (int i = 0; i < 512; i++) noise[i] = (char)tc_rng_u32(&r);
    noise[0] = 'x'; /* never a number line at line 1 (a header) */
    tc_series *n = tc_load_series_csv(write_text("noise.csv", noise, sizeof noise));
    if (n) fail_msg("random bytes read as %lld steps", (long long)n->steps);
    assert_non_null(strstr(tc_last_error(), "noise.csv"));
}

static void bpi_json(void **state)
{
    tc_series *s = tc_load_series_bpi_json(WRITE("a.json", "{\"bpi\": {\"2017-01-01\": 997.6888, \"2017-01-02\":1021.6,\n"
                                                          "  \"2017-01-03\": 1043.8}, \"disclaimer\": \"x\"}"));
    tc_assert_ok(s);
    assert_int_equal(s->steps, 3);
    assert_int_equal(s->series, 1);
    assert_true(s->v[0] == 997.6888 && s->v[2] == 1043.8);
    tc_series_free(s);
    tc_assert_error(tc_load_series_bpi_json(WRITE("b.json", "{\"bpi\": {\"2017-01-01\": 997.69, \"2017-01-02\": oops}}")),
                    "b.json: malformed \"bpi\" entry at byte");
    tc_assert_error(tc_load_series_bpi_json(WRITE("c.json", "{\"time\": 1}")), "c.json: no \"bpi\" object");
    tc_assert_error(tc_load_series_bpi_json(WRITE("d.json", "{\"bpi\": {}}")), "d.json: the \"bpi\" object is empty");
    tc_assert_error(tc_load_series_bpi_json(WRITE("e.json", "{\"bpi\": {\"2017-01-01\": 1")), "e.json: malformed");
    tc_assert_error(tc_load_series_bpi_json(WRITE("f.json", "")), "f.json: no \"bpi\" object");
    tc_assert_error(tc_load_series_bpi_json(p("missing.json")), "missing.json: cannot open");
}

static void synthetic_and_windows(void **state)
{
    tc_series *a = tc_series_synthetic(300, 2, 7), *b = tc_series_synthetic(300, 2, 7), *c = tc_series_synthetic(300, 2, 8);
    tc_assert_ok(a);
    tc_assert_ok(c);
    assert_memory_equal(a->v, b->v, sizeof(double) * 600);
    assert_memory_not_equal(a->v, c->v, sizeof(double) * 600);
    for (int i = 0; i < 600; i++) assert_true(fabs(a->v[i]) < 2); /* |sum of sines / 1, 2, 3| + noise < 1.84 */
    tc_assert_error(tc_series_synthetic(10, 0, 1), "series_synthetic");
    tc_tensor *x, *y;
    assert_int_equal(tc_series_windows(a, 40, 30, 2.5, &x, &y), TC_OK);
    assert_int_equal(x->shape[0], 300 - 70 + 1);
    assert_int_equal(x->shape[1], 40);
    assert_int_equal(y->shape[1], 30);
    assert_int_equal(x->shape[2], 2);
    for (int w = 0; w < x->shape[0]; w += 37)
        for (int k = 0; k < 2; k++) {
            double m = 0, v = 0;
            for (int t = 0; t < 40; t++) m += a->v[(w + t) * 2 + k] / 40;
            for (int t = 0; t < 40; t++) v += (a->v[(w + t) * 2 + k] - m) * (a->v[(w + t) * 2 + k] - m) / 40;
            double sd = 2.5 * sqrt(v) + 1e-8;
            for (int t = 0; t < 40; t++)
                assert_float_equal(x->data[(w * 40 + t) * 2 + k], (a->v[(w + t) * 2 + k] - m) / sd, 1e-6);
            for (int t = 0; t < 30; t++)
                assert_float_equal(y->data[(w * 30 + t) * 2 + k], (a->v[(w + 40 + t) * 2 + k] - m) / sd, 1e-6);
        }
    tc_tensor_free(x);
    tc_tensor_free(y);
    assert_int_not_equal(tc_series_windows(a, 200, 101, 2.5, &x, &y), TC_OK);
    tc_assert_error(NULL, "300 time steps; a window needs 301");
    assert_null(x);
    tc_series_free(a);
    tc_series_free(b);
    tc_series_free(c);
}

int main(void)
{
    if (tc_test_mkdtemp(dir, sizeof dir, "series_test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_files),
        cmocka_unit_test(bpi_json),
        cmocka_unit_test(synthetic_and_windows),
    };
    return tc_test_finish(dir, cmocka_run_group_tests(tests, NULL, NULL));
}
