// Colours of a split metric's series: a hash of each name into the palette (FNV-1a), and the next
// free slot when two names clash (names taken in sorted order). A series keeps its colour across
// reloads and viewers as long as the set of series is the same.
export function seriesSlots(names: readonly string[], size: number): Map<string, number> {
  const slots = new Map<string, number>();
  const taken = new Set<number>();
  for (const name of [...names].sort()) {
    let h = 2166136261;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
    let slot = (h >>> 0) % size;
    for (let k = 0; k < size && taken.has(slot); k++) slot = (slot + 1) % size;
    taken.add(slot);
    slots.set(name, slot);
  }
  return slots;
}

/** The value at or before `i` (a series of a joined table has `undefined` where it has no point). */
export function valueAt(ys: ArrayLike<number | null | undefined>, i: number): number | null {
  for (let k = i; k >= 0 && i - k < 600; k--) {
    const v = ys[k];
    if (v === null) return null;
    if (v !== undefined) return v;
  }
  return null;
}
