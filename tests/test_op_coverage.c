/* Every op of the op list (the .def files of src/ops) names the gradient-check program
 * that runs its backward, and that program exists. Each program verifies
 * when it runs that the backward of every op naming it did run
 * (tc_gradcheck_coverage), so an op without a gradient check fails here or
 * there, as ggml's test-backend-ops does for each of its ops. */
#include "testutil.h"

#include "../src/autograd/autograd_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void every_op_names_an_existing_gradcheck(void **state)
{
    int bad = 0;
    for (int op = 1; op < tc_op_count(); op++) {
        const char *gc = tc_op_gradcheck(op);
        char path[1024];
        snprintf(path, sizeof path, "%s/../%s", TC_FIXTURES, gc ? gc : "");
        if (!gc || access(path, R_OK) != 0) {
            fprintf(stderr, "op %s: gradient-check program %s not found (%s)\n", tc_op_name(op), gc ? gc : "(none)", path);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_true(tc_op_count() > 40); /* the table is really there */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(every_op_names_an_existing_gradcheck)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tc_shutdown();
    return rc;
}
