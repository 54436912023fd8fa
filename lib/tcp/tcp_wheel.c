/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The stack's timing wheel (see struct tcp_wheel in tcp_priv.h). Single
 * threaded like the stack. A connection is on at most one list at a time:
 * a wheel slot, or the due list tcp_wheel_expire hands to the caller; the
 * w_pprev link lets it leave either in O(1) (connection freed or reset).
 */
#include "dssh_util.h"
#include "tcp_priv.h"

#define WORDS (TCP_WHEEL_SLOTS / 64)

static uint64_t
tick_of(uint64_t us)
{
	return us >> TCP_WHEEL_TICK_SHIFT;
}

/* The turn (level-1 period) a tick is in. */
static uint64_t
turn_of(uint64_t tick)
{
	return tick >> TCP_WHEEL_BITS;
}

static void
map_set(uint64_t *m, unsigned i)
{
	m[i >> 6] |= 1ull << (i & 63);
}

static void
map_clr(uint64_t *m, unsigned i)
{
	m[i >> 6] &= ~(1ull << (i & 63));
}

/*
 * Ring distance from slot 'from' to the first non-empty slot at or after
 * it, TCP_WHEEL_SLOTS when all are empty: at most WORDS + 1 word tests.
 */
static unsigned
map_next(const uint64_t *m, unsigned from)
{
	unsigned i, wd = from >> 6;
	uint64_t bits = m[wd] & (~0ull << (from & 63));

	for (i = 0; i <= WORDS; i++) {
		if (bits != 0) {
			unsigned pos = (wd << 6) | (unsigned)__builtin_ctzll(bits);

			return (pos - from) & TCP_WHEEL_MASK;
		}
		wd = (wd + 1) % WORDS;
		bits = m[wd];
	}
	return TCP_WHEEL_SLOTS;
}

static void
link_head(struct dssh_tcp_conn **head, struct dssh_tcp_conn *c)
{
	c->w_next = *head;
	if (*head != NULL)
		(*head)->w_pprev = &c->w_next;
	*head = c;
	c->w_pprev = head;
}

/*
 * Files c at c->w_due relative to the cursor: in level 0 within one turn
 * of it (a deadline before the cursor goes to the cursor's own slot, which
 * the next expire looks at), else in level 1 by turn.
 */
static void
place(struct tcp_wheel *w, struct dssh_tcp_conn *c)
{
	uint64_t tick = tick_of(c->w_due), turn;
	unsigned lvl = 0, idx;

	if (tick < w->now)
		tick = w->now;
	if (tick - w->now < TCP_WHEEL_SLOTS) {
		idx = (unsigned)(tick & TCP_WHEEL_MASK);
	} else {
		lvl = 1;
		turn = turn_of(tick);
		/* beyond level 1: its farthest slot, filed again from there */
		if (turn - turn_of(w->now) >= TCP_WHEEL_SLOTS)
			turn = turn_of(w->now) + TCP_WHEEL_SLOTS - 1;
		idx = (unsigned)(turn & TCP_WHEEL_MASK);
	}
	if (w->slot[lvl][idx] == NULL || c->w_due < w->lo[lvl][idx])
		w->lo[lvl][idx] = c->w_due;
	link_head(&w->slot[lvl][idx], c);
	map_set(w->map[lvl], idx);
	w->n[lvl]++;
	c->w_lvl = (uint8_t)lvl;
	c->w_slot = (uint16_t)idx;
}

void
tcp_wheel_unlink(struct tcp_wheel *w, struct dssh_tcp_conn *c)
{
	if (c->w_pprev == NULL)
		return;
	if (c->w_next != NULL)
		c->w_next->w_pprev = c->w_pprev;
	*c->w_pprev = c->w_next;
	if (c->w_lvl != TCP_WHEEL_DUE) {
		w->n[c->w_lvl]--;
		if (w->slot[c->w_lvl][c->w_slot] == NULL)
			map_clr(w->map[c->w_lvl], c->w_slot);
	}
	c->w_next = NULL;
	c->w_pprev = NULL;
}

/*
 * Files (or moves) c at deadline due. now_us lets an empty wheel bring its
 * cursor up to the present, so that a first deadline lands in level 0.
 */
void
tcp_wheel_file(struct tcp_wheel *w, struct dssh_tcp_conn *c, uint64_t due, uint64_t now_us)
{
	tcp_wheel_unlink(w, c);
	if (w->n[0] == 0 && w->n[1] == 0 && tick_of(now_us) > w->now)
		w->now = tick_of(now_us);
	c->w_due = due;
	place(w, c);
}

/* Level-1 slot idx's entries down to level 0 (or back to level 1). */
static void
cascade(struct tcp_wheel *w, unsigned idx)
{
	struct dssh_tcp_conn *c;

	while ((c = w->slot[1][idx]) != NULL) {
		tcp_wheel_unlink(w, c);
		place(w, c);
	}
}

/*
 * The level-0 slot idx's entries due at now_us onto *tail, in order; the
 * slot's lower bound becomes exact.
 */
static void
take_due(struct tcp_wheel *w, unsigned idx, uint64_t now_us,
    struct dssh_tcp_conn ***tail)
{
	struct dssh_tcp_conn *c, *next;
	uint64_t lo = UINT64_MAX;

	for (c = w->slot[0][idx]; c != NULL; c = next) {
		next = c->w_next;
		if (c->w_due > now_us) {
			lo = DSSH_MIN(lo, c->w_due);
			continue;
		}
		tcp_wheel_unlink(w, c);
		c->w_lvl = TCP_WHEEL_DUE;
		c->w_pprev = *tail;
		**tail = c;
		*tail = &c->w_next;
	}
	w->lo[0][idx] = lo;
}

/*
 * Moves the cursor up to now_us and takes every entry due by then off the
 * wheel, in deadline order to within a tick, onto the list *due (which the
 * caller owns: it unlinks each entry with tcp_wheel_unlink and files it
 * again as it likes). Work: the due entries, the level-1 entries whose turn
 * began, and two bitmap scans per non-empty slot passed.
 */
void
tcp_wheel_expire(struct tcp_wheel *w, uint64_t now_us, struct dssh_tcp_conn **due)
{
	struct dssh_tcp_conn **tail = due;
	uint64_t end = tick_of(now_us), target;
	unsigned d;

	*due = NULL;
	if (w->n[0] == 0 && w->n[1] == 0) {
		if (end > w->now)
			w->now = end;
		return;
	}
	for (;;) {
		take_due(w, (unsigned)(w->now & TCP_WHEEL_MASK), now_us, &tail);
		if (w->now >= end)
			break;
		/* the next tick with work: a level-0 slot or a level-1 turn */
		target = end;
		if (w->n[0] > 0 &&
		    (d = map_next(w->map[0], (unsigned)((w->now + 1) & TCP_WHEEL_MASK))) <
		    TCP_WHEEL_SLOTS)
			target = DSSH_MIN(target, w->now + 1 + d);
		if (w->n[1] > 0 &&
		    (d = map_next(w->map[1], (unsigned)((turn_of(w->now) + 1) & TCP_WHEEL_MASK))) <
		    TCP_WHEEL_SLOTS)
			target = DSSH_MIN(target, (turn_of(w->now) + 1 + d) << TCP_WHEEL_BITS);
		if (turn_of(target) != turn_of(w->now)) {
			w->now = target;
			cascade(w, (unsigned)(turn_of(target) & TCP_WHEEL_MASK));
		} else {
			w->now = target;
		}
	}
}

/*
 * Minimum deadline of level lvl's slot idx after correcting its entries:
 * one whose earliest timer is later than where it is filed (disarmed or
 * re-armed later: the wheel is lazy) is filed again at it, or taken off
 * when nothing is armed. *down is set when an entry went to level 0.
 * A slot of more than TCP_WHEEL_SCAN entries answers its lower bound
 * after that many: a bounded cost, and at worst an early wake-up.
 */
static uint64_t
slot_min(struct tcp_wheel *w, unsigned lvl, unsigned idx,
    uint64_t (*deadline)(const struct dssh_tcp_conn *c), bool *down)
{
	struct dssh_tcp_conn *c, *next;
	uint64_t best = UINT64_MAX, m;
	unsigned k = 0;

	for (c = w->slot[lvl][idx]; c != NULL; c = next) {
		if (k++ == TCP_WHEEL_SCAN)
			return DSSH_MIN(best, w->lo[lvl][idx]);
		next = c->w_next;
		m = deadline(c);
		if (m <= c->w_due) {
			best = DSSH_MIN(best, m);
			continue;
		}
		tcp_wheel_unlink(w, c);
		if (m == UINT64_MAX)
			continue;
		c->w_due = m;
		place(w, c);
		if (c->w_lvl == lvl && c->w_slot == idx)
			best = DSSH_MIN(best, m);
		else if (c->w_lvl == 0)
			*down = true;
	}
	if (best != UINT64_MAX)
		w->lo[lvl][idx] = best;
	return best;
}

/*
 * The earliest armed deadline on the wheel, UINT64_MAX if none; stale
 * entries met on the way are corrected (each correction moves an entry
 * later, so this ends). The answer may be earlier, never later: when the
 * first slot holds more than TCP_WHEEL_SCAN entries (its lower bound), or
 * for a deadline more than 4.77 h ahead (the start of a level-1 turn).
 * Either way the next call at that time moves on to the exact answer.
 */
uint64_t
tcp_wheel_next(struct tcp_wheel *w, uint64_t (*deadline)(const struct dssh_tcp_conn *c))
{
	uint64_t best0, best1, turn;
	unsigned d, idx;
	bool down;

	for (;;) {
		best0 = UINT64_MAX;
		down = false;
		while (w->n[0] > 0 && best0 == UINT64_MAX) {
			d = map_next(w->map[0], (unsigned)(w->now & TCP_WHEEL_MASK));
			best0 = slot_min(w, 0, (unsigned)((w->now + d) & TCP_WHEEL_MASK), deadline,
			    &down);
		}
		if (w->n[1] == 0)
			return best0;
		d = map_next(w->map[1], (unsigned)((turn_of(w->now) + 1) & TCP_WHEEL_MASK));
		turn = turn_of(w->now) + 1 + d;
		/* level 1 holds nothing before its first turn's start */
		if (best0 <= (turn << TCP_WHEEL_BITS << TCP_WHEEL_TICK_SHIFT))
			return best0;
		idx = (unsigned)(turn & TCP_WHEEL_MASK);
		best1 = slot_min(w, 1, idx, deadline, &down);
		if (down)
			continue;       /* an entry moved to level 0: look again */
		if (best1 != UINT64_MAX && turn_of(tick_of(best1)) != turn)
			best1 = turn << TCP_WHEEL_BITS << TCP_WHEEL_TICK_SHIFT;
		if (best1 == UINT64_MAX && w->slot[1][idx] == NULL)
			continue;       /* the slot emptied: the next one */
		return DSSH_MIN(best0, best1);
	}
}
