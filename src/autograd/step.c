/* The step: autograd owns both the tape and its use of the arena, so it is
 * the one place that ends a step (tape first: its nodes live in the arena). */
#include "autograd_internal.h"

tc_step_mark tc_step_get_mark(void)
{
    tc_step_mark m = {tc_arena_position(), tc_tape_length()};
    return m;
}

void tc_step_release(tc_step_mark mark)
{
    tc_tape_truncate(mark.tape_len);
    tc_arena_rewind(mark.arena_position);
}

void tc_step_reset(void)
{
    tc_tape_truncate(0);
    tc_arena_rewind(0);
}

void tc_shutdown(void)
{
    tc_tape_truncate(0);
    tc_tape_shutdown();
    tc_core_shutdown();
}
