import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { readZipDirectory, readZipMember } from './zip';
import { parseNpy } from './npy';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const expected = JSON.parse(readFileSync(new URL('./fixtures/expected.json', import.meta.url), 'utf8')) as { values: Record<string, number[]> };
const blob = (b: Uint8Array) => new Blob([b as BlobPart]);

async function readAll(bytes: Uint8Array, file: string) {
  const b = blob(bytes);
  const members = await readZipDirectory(b, file);
  return Promise.all(members.map(async (m) => ({ name: m.name, data: parseNpy(await readZipMember(b, m, file), m.name).data })));
}

function expectValues(got: { name: string; data: Float32Array }[], ids: string[]) {
  expect(got.map((g) => g.name)).toEqual(ids.map((i) => `${i}.npy`));
  for (const g of got) {
    const want = expected.values[g.name.slice(0, -4)];
    expect(g.data.length).toBe(want.length);
    g.data.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(Math.abs(want[i]) * 1e-6));
  }
}

describe('random-access zip reader on real NumPy / Python archives', () => {
  it('np.savez (stored members, zip64 local headers): float32, float64, float16', async () => {
    expectValues(await readAll(fixture('savez.npz'), 'savez.npz'), ['u1', 'u2', 'u3']);
  });

  it('np.savez_compressed (deflated members)', async () => {
    expectValues(await readAll(fixture('savez_compressed.npz'), 'c.npz'), ['u1', 'u2', 'u3']);
  });

  it('zip64 central-directory extras, and the zip64 end record when the classic one is saturated', async () => {
    const z = fixture('zip64.npz');
    expectValues(await readAll(z, 'z64.npz'), ['u1', 'u2', 'u3']);
    // Saturate the classic end record (as an archive with > 65535 members or > 4 GiB has): the
    // reader must take counts and offsets from the zip64 end record instead.
    const sat = z.slice();
    const dv = new DataView(sat.buffer);
    let eocd = sat.length - 22;
    while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
    dv.setUint16(eocd + 8, 0xffff, true);
    dv.setUint16(eocd + 10, 0xffff, true);
    dv.setUint32(eocd + 12, 0xffffffff, true);
    dv.setUint32(eocd + 16, 0xffffffff, true);
    expectValues(await readAll(sat, 'sat.npz'), ['u1', 'u2', 'u3']);
  });

  it('directories are left out; a trailing archive comment is skipped', async () => {
    const z = zipSync({ 'd/': new Uint8Array(0), 'd/x.bin': new Uint8Array([1, 2, 3]) }, { comment: 'hello '.repeat(50) });
    const members = await readZipDirectory(blob(z), 'c.zip');
    expect(members.map((m) => m.name)).toEqual(['d/x.bin']);
    expect(Array.from(await readZipMember(blob(z), members[0], 'c.zip'))).toEqual([1, 2, 3]);
  });
});

describe('damaged archives are refused with the file named', () => {
  const good = () => zipSync({ 'a.npy': new Uint8Array(200).fill(7) }, { level: 6 });
  /** A good archive with its first central-directory entry (at byte `at`) patched. */
  const patchCentral = (patch: (dv: DataView, at: number) => void) => {
    const z = good();
    const dv = new DataView(z.buffer);
    let eocd = z.length - 22;
    while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
    patch(dv, dv.getUint32(eocd + 16, true));
    return z;
  };
  const cases: Array<[string, () => Uint8Array, string]> = [
    ['too short', () => new Uint8Array(10), 'x.zip: not a zip archive (10 bytes'],
    [
      'no end record',
      () => new TextEncoder().encode('PK not really a zip, just text that is long enough'),
      'x.zip: not a zip archive (no end-of-central-directory record',
    ],
    ['bytes missing at the start', () => good().slice(20), 'x.zip: central directory entry 1 of 1 is damaged'],
    ['truncated at the end', () => good().slice(0, -30), 'x.zip: not a zip archive (no end-of-central-directory record'],
    [
      'central directory offset past the end',
      () => {
        const z = good();
        const dv = new DataView(z.buffer);
        dv.setUint32(z.length - 22 + 16, z.length, true);
        return z;
      },
      'x.zip: central directory runs past the end of the file',
    ],
    ['damaged central directory', () => patchCentral((dv, at) => dv.setUint32(at, 0xdeadbeef, true)), 'x.zip: central directory entry 1 of 1 is damaged'],
    ['unsupported compression method', () => patchCentral((dv, at) => dv.setUint16(at + 10, 12, true)), "x.zip: member 'a.npy' uses compression method 12"], // 12: bzip2
    ['encrypted member', () => patchCentral((dv, at) => dv.setUint16(at + 8, 1, true)), "x.zip: member 'a.npy' is encrypted"],
  ];
  for (const [what, make, msg] of cases) {
    it(what, async () => {
      await expect(readAll(make(), 'x.zip')).rejects.toThrow(msg);
    });
  }

  it('a member whose data is corrupt does not inflate', async () => {
    const z = good();
    z.fill(0xff, 35, 40); // the deflate stream starts after the 30-byte local header and the name
    await expect(readAll(z, 'x.zip')).rejects.toThrow(/x\.zip: member 'a\.npy' (does not inflate|has \d+ bytes, the directory says 200)/);
  });
});
