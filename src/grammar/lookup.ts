// A word looked up in a table written as an object literal. Indexing such an object with a word from
// the user also finds what every object inherits (`constructor`, `toString`, `__proto__`): only the
// table's own entries are answers.

/** The entry `word` names in `table`, or undefined when the table has no such entry of its own. */
export function lookup<T>(table: Readonly<Record<string, T>>, word: string): T | undefined {
  return Object.hasOwn(table, word) ? table[word] : undefined;
}
