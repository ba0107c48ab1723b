/*
 * search_end.h — how a search ends: its final state with the events that
 * close its log — a trial_stopped for each trial left paused at a rung below
 * the last, then 'finished' with the best trial — in one transaction, so a
 * stream following the search sees all of them or none.
 */
#ifndef TRAIND_SEARCH_END_H
#define TRAIND_SEARCH_END_H

#include <stdint.h>

#include "search_config.h"
#include "store_searches.h"

/**
 * Whether a trial at rung ra with metric ma beats one at rb with mb for the
 * best trial: the better metric, then the higher rung (trials are compared in
 * index order, so a tie keeps the lower index).
 */
int search_end_better(const search_config *c, int64_t ra, double ma, int64_t rb, double mb);

/**
 * End running search s in state (succeeded or cancelled).
 * @return STORE_OK, STORE_ECONFLICT when it has ended already, STORE_EIO
 * when its stored config does not parse, or a store error
 */
int search_end(store *st, const store_search *s, store_search_state state);

#endif
