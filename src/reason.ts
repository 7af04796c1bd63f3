// Why a frame went somewhere or nowhere: a short stable key (`rx-filter-unicast`) that counters,
// JSON and scripts use, with one sentence beside it for people (`tapyard trace`, docs). Keys are
// string constants, so counting a reason allocates nothing; the sentence is looked up only when
// someone asks.

const SENTENCES = new Map<string, string>();

/**
 * Declare a module's reasons: NAME → [key, sentence]. Returns NAME → key, the constants the
 * datapath uses. A key may be declared once only, so two modules cannot mean different things
 * by one name.
 */
export function reasons<const T extends Record<string, readonly [string, string]>>(
  table: T,
): { readonly [K in keyof T]: T[K][0] } {
  const keys: Record<string, string> = {};
  for (const [name, [key, sentence]] of Object.entries(table)) {
    const known = SENTENCES.get(key);
    if (known !== undefined && known !== sentence) throw new Error(`reason ${key} is declared twice`);
    SENTENCES.set(key, sentence);
    keys[name] = key;
  }
  return Object.freeze(keys) as { readonly [K in keyof T]: T[K][0] };
}

/** The sentence for a reason key; the key itself for one nobody declared (e.g. `tx-EINVAL`). */
export function describeReason(key: string): string {
  return SENTENCES.get(key) ?? key;
}

/** Every declared reason, for docs and tests. */
export function allReasons(): ReadonlyMap<string, string> {
  return SENTENCES;
}
