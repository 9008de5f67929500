/* The op table, generated from the X-macro list in src/ops/op_list.h:
 * each entry pairs an op's name with its backward function. Listing an op
 * whose backward is not written fails the link. */
#include "../core/internal.h"

typedef struct {
    const char *name;
    void (*backward)(tc_node *n, const tc_tensor *gy);
} op_info;

#define TC_OP_ENTRY(name) [TC_OP_##name] = {#name, tc_backward_##name},
static const op_info table[TC_OP_COUNT] = {[TC_OP_none] = {"none", NULL}, TC_OP_LIST(TC_OP_ENTRY)};
#undef TC_OP_ENTRY

#define TC_OP_ONE(name) +1
_Static_assert(sizeof table / sizeof table[0] == 1 TC_OP_LIST(TC_OP_ONE),
               "every op in op_list.h has exactly one table entry");
#undef TC_OP_ONE

const char *tc_op_name(int op)
{
    return (op > 0 && op < TC_OP_COUNT) ? table[op].name : "unknown";
}

void tc_op_backward(tc_node *n, const tc_tensor *gy) { table[n->op].backward(n, gy); }
