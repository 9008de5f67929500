/* The op table, generated from the X-macro list in src/ops/op_list.h:
 * each entry pairs an op's name with its backward function and the
 * gradient-check program that covers it. Listing an op whose backward is not
 * written fails the link. */
#include "autograd_internal.h"

typedef struct {
    const char *name;
    tc_status (*backward)(tc_node *n, const tc_tensor *gy);
    const char *gradcheck; /* tests/test_grad_<gradcheck>.c */
} op_info;

#define TC_OP_ENTRY(name, gc) [TC_OP_##name] = {#name, tc_backward_##name, "test_grad_" #gc ".c"},
static const op_info table[TC_OP_COUNT] = {[TC_OP_none] = {"none", NULL, NULL}, TC_OP_LIST(TC_OP_ENTRY)};
#undef TC_OP_ENTRY

#define TC_OP_ONE(name, gc) +1
_Static_assert(sizeof table / sizeof table[0] == 1 TC_OP_LIST(TC_OP_ONE),
               "every op in op_list.h has exactly one table entry");
#undef TC_OP_ONE

/* how often each op's backward ran in this process (the gradient-check
 * programs verify that every op they claim in the .def files ran) */
static int64_t backward_calls[TC_OP_COUNT];

const char *tc_op_name(int op)
{
    return (op > 0 && op < TC_OP_COUNT) ? table[op].name : "unknown";
}

const char *tc_op_gradcheck(int op) { return (op > 0 && op < TC_OP_COUNT) ? table[op].gradcheck : NULL; }
int tc_op_count(void) { return TC_OP_COUNT; }
int64_t tc_op_backward_calls(int op)
{
    return (op > 0 && op < TC_OP_COUNT) ? __atomic_load_n(&backward_calls[op], __ATOMIC_RELAXED) : 0;
}

tc_status tc_op_backward(tc_node *n, const tc_tensor *gy)
{
    __atomic_add_fetch(&backward_calls[n->op], 1, __ATOMIC_RELAXED);
    return table[n->op].backward(n, gy);
}
