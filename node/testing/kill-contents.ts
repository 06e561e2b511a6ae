/** The two contents save-loop.ts alternates between: different sizes, every line numbered, so any mix or cut shows. */
export function killTestContents(): [string, string] {
  const make = (tag: string, lines: number) =>
    Array.from({ length: lines }, (_, i) => `${tag} line ${i}: the quick brown fox jumps over the lazy dog — ünïcödé ✓\n`).join('');
  return [make('OLD', 4000), make('NEW', 2500)];
}
