import type { AssignmentState, AssignmentSummary, EndingPage, Store } from '../store/types.js';

/** Assignments read from the store at once; each page is dealt with before the next is read. */
const PAGE_SIZE = 500;

/**
 * listEndingBy a page at a time, in (endsAt, id) order, starting after `o.after` (exclusive) when
 * given. Only one page is held at once, so memory does not grow with the number of rows.
 */
export async function* pagesEndingBy(
  store: Store,
  before: string,
  states: readonly AssignmentState[],
  o: { after?: EndingPage['after']; pageSize?: number | undefined } = {},
): AsyncGenerator<AssignmentSummary[]> {
  const limit = o.pageSize ?? PAGE_SIZE;
  let cursor = o.after;
  for (;;) {
    const page = await store.listEndingBy(before, states, { after: cursor, limit });
    if (page.length > 0) yield page;
    if (page.length < limit) return;
    const last = page[page.length - 1]!;
    cursor = { endsAt: last.endsAt, id: last.id };
  }
}
