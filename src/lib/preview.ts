// A short, safe rendering of an untrusted value for error messages: JSON-like, at most `max`
// characters, nesting cut at depth 3. JSON.stringify recurses, so a value nested 5,000 deep (a
// hostile file) would overflow the stack inside the very message that refuses it.

export function preview(x: unknown, max = 60): string {
  let out = '';
  const put = (s: string) => {
    out += s;
    return out.length <= max;
  };
  const walk = (v: unknown, depth: number): boolean => {
    if (v === undefined) return put('nothing');
    if (v === null || typeof v === 'boolean' || typeof v === 'number') return put(typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v));
    if (typeof v === 'string') return put(JSON.stringify(v.length > max ? v.slice(0, max) : v));
    if (typeof v !== 'object') return put(typeof v);
    if (depth >= 3) return put(Array.isArray(v) ? '[…]' : '{…}');
    if (Array.isArray(v)) {
      if (!put('[')) return false;
      for (let i = 0; i < v.length; i++) if ((i && !put(',')) || !walk(v[i], depth + 1)) return false;
      return put(']');
    }
    if (!put('{')) return false;
    let first = true;
    for (const k of Object.keys(v)) {
      if ((!first && !put(',')) || !put(`${JSON.stringify(k.slice(0, max))}:`) || !walk((v as Record<string, unknown>)[k], depth + 1)) return false;
      first = false;
    }
    return put('}');
  };
  walk(x, 0);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}
