/** Every item of a paged list (client.list), up to `max`. */
export async function collect<T>(items: AsyncIterable<T>, max = 200): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}
