// Test support (vitest only; nothing in the app imports it): mutations of valid files for the
// property-based fuzz tests of every parser that reads a user's file (safetensors, checkpoint
// metadata, .npy, .npz/.zip, manifests). A parser under fuzz either returns a valid result or
// throws an Error that names the file: never a TypeError, RangeError or stack overflow.
// Each run draws a new seed and prints it; FUZZ_SEED=<n> replays it (fast-check also prints the
// seed and the shrunk counterexample's path on a failure).

import fc from 'fast-check';

/** The run's seed: FUZZ_SEED if set, else a fresh one; printed so a failure can be replayed. */
export function fuzzSeed(what: string): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FUZZ_SEED;
  const seed = env !== undefined ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[fuzz] ${what}: seed ${seed} (replay with FUZZ_SEED=${seed})`);
  return seed;
}

/** Throws unless `e` is a plain Error (or a subclass like DataError) whose message names `file`. */
export function expectNamedError(e: unknown, file: string): void {
  if (!(e instanceof Error)) throw new Error(`threw a non-Error: ${String(e)}`);
  if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError || e instanceof ReferenceError) {
    throw new Error(`threw ${e.name} (${e.message}) instead of an error naming ${file}`);
  }
  if (!e.message.includes(file)) throw new Error(`error does not name ${file}: ${e.message}`);
}

/** Runs a parser: it either throws an error naming `file` (see expectNamedError) or returns a result that passes `expectValid`. */
export function validOrNamed<T>(parse: () => T, file: string, expectValid: (result: T) => void): void {
  let result: T;
  try {
    result = parse();
  } catch (e) {
    expectNamedError(e, file);
    return;
  }
  expectValid(result);
}

// ---- byte-level mutations

export type ByteMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'set'; at: number; width: 1 | 2 | 4 | 8; value: number | 'len' | 'len+1' | 'len-1' }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; len: number };

// Values that break length fields: zero, one, sign bits, all-ones, 2^53, and the file's own length ±1.
const INTERESTING = fc.constantFrom<number | 'len' | 'len+1' | 'len-1'>(
  0,
  1,
  2,
  7,
  0x7f,
  0x80,
  0xff,
  0x7fff,
  0xffff,
  0x7fffffff,
  0xffffffff,
  2 ** 53,
  'len',
  'len+1',
  'len-1',
);

/**
 * One to four mutations. `fields` are byte offsets of known length/offset fields (header lengths,
 * directory offsets): half the positional mutations aim at one of them.
 */
export function byteMutations(fields: number[] = []): fc.Arbitrary<ByteMutation[]> {
  const pos = fields.length
    ? fc.oneof(
        fc.nat(),
        fc.constantFrom(...fields).map((f) => -1 - f),
      )
    : fc.nat();
  const m: fc.Arbitrary<ByteMutation> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        at: pos,
        width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
        value: fc.oneof(INTERESTING, fc.nat()),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }) },
  );
  return fc.array(m, { minLength: 1, maxLength: 4 });
}

/** Applies mutations to a copy. Positions wrap around the length; a negative `at` is -1 - (a listed field offset). */
export function mutateBytes(src: Uint8Array, ms: ByteMutation[]): Uint8Array {
  let b = src.slice();
  for (const m of ms) {
    const n = b.length;
    if (n === 0) break;
    const at = m.at < 0 ? Math.min(-1 - m.at, n - 1) : m.at % n;
    switch (m.kind) {
      case 'flip':
        b[at] ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'set': {
        const value = m.value === 'len' ? n : m.value === 'len+1' ? n + 1 : m.value === 'len-1' ? n - 1 : m.value;
        let x = BigInt(value);
        for (let k = 0; k < m.width && at + k < n; k++, x >>= 8n) b[at + k] = Number(x & 0xffn);
        break;
      }
      case 'insert': {
        const out = new Uint8Array(n + m.bytes.length);
        out.set(b.subarray(0, at));
        out.set(m.bytes, at);
        out.set(b.subarray(at), at + m.bytes.length);
        b = out;
        break;
      }
      case 'delete': {
        const tail = b.subarray(Math.min(n, at + m.len));
        const out = new Uint8Array(at + tail.length);
        out.set(b.subarray(0, at));
        out.set(tail, at);
        b = out;
        break;
      }
    }
  }
  return b;
}

// ---- JSON-level mutations: swap a value's type, delete or add a key, nest deeply

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonMutation = { path: number; op: 'swap'; to: number } | { path: number; op: 'delete' } | { path: number; op: 'add'; key: string; to: number };

// Replacements: other types, edge numbers, and a marker for 5,000 levels of nesting (spliced in as text).
const DEEP = '\u0000deep\u0000';
const SWAPS: Json[] = [null, true, false, 0, -1, 1.5, 1e308, 2 ** 53 + 2, -(2 ** 31), '', 'x', '1', '<b>x</b>', [], [null], [1, 2], {}, { a: 1 }, DEEP];

export function jsonMutations(): fc.Arbitrary<JsonMutation[]> {
  const m: fc.Arbitrary<JsonMutation> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ path: fc.nat(), op: fc.constant('swap' as const), to: fc.nat({ max: SWAPS.length - 1 }) }) },
    { weight: 2, arbitrary: fc.record({ path: fc.nat(), op: fc.constant('delete' as const) }) },
    {
      weight: 1,
      arbitrary: fc.record({
        path: fc.nat(),
        op: fc.constant('add' as const),
        key: fc.constantFrom('__proto__', 'constructor', 'toString', 'extra', ''),
        to: fc.nat({ max: SWAPS.length - 1 }),
      }),
    },
  );
  return fc.array(m, { minLength: 1, maxLength: 3 });
}

/** Every container-child location in a JSON value, depth first: [parent, key]. */
function locations(v: Json, out: [Json[] | { [k: string]: Json }, string | number][] = []) {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), locations(x, out)));
  else if (v && typeof v === 'object')
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      locations(v[k], out);
    }
  return out;
}

/** Applies JSON mutations to a parsed copy of `text` and serialises it again. */
export function mutateJson(text: string, ms: JsonMutation[]): string {
  const root = JSON.parse(text) as Json;
  for (const m of ms) {
    const locs = locations(root);
    if (!locs.length) break;
    const [parent, key] = locs[m.path % locs.length];
    // Copies: a shared replacement object mutated by a later 'add' would change SWAPS itself (and can
    // make the tree circular).
    if (m.op === 'swap') (parent as Record<string | number, Json>)[key] = structuredClone(SWAPS[m.to]);
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
    } else {
      const target = (parent as Record<string | number, Json>)[key];
      if (target && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, m.key, { value: structuredClone(SWAPS[m.to]), enumerable: true, writable: true, configurable: true });
    }
  }
  return JSON.stringify(root)
    .split(JSON.stringify(DEEP))
    .join('['.repeat(5000) + ']'.repeat(5000));
}
