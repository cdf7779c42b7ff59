/** Small object helpers shared by the infrastructure modules. */

/** The object without its undefined properties (so spreading it over defaults keeps the defaults). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
