"""Writes src/data/fixtures/: real NumPy .npz files (np.savez and np.savez_compressed, which use
zip64 local headers) and a deflated .zip from Python's zipfile, for the import tests.
Run: python3 tools/make_npz_fixtures.py  (NumPy 2.x from Debian was used)."""
import io, json, os, zipfile
import numpy as np

out = os.path.join(os.path.dirname(__file__), '..', 'src', 'data', 'fixtures')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
feats = {
    'u1': rng.standard_normal((5, 3)).astype(np.float32),
    'u2': rng.standard_normal((7, 3)).astype(np.float64),
    'u3': rng.standard_normal((4, 3)).astype(np.float16),
}
np.savez(os.path.join(out, 'savez.npz'), **feats)
np.savez_compressed(os.path.join(out, 'savez_compressed.npz'), **feats)
# Pose-like [T, joints, xyz] features in a deflated zip of a folder with manifest.tsv.
pose = {f'p{i}': rng.standard_normal((6 + i, 2, 3)).astype(np.float32) for i in range(3)}
with zipfile.ZipFile(os.path.join(out, 'pose_folder.zip'), 'w', compression=zipfile.ZIP_DEFLATED) as z:
    z.writestr('pose/manifest.tsv', 'id\ttext\tsplit\tfeatures\n' + ''.join(f'{k}\tA B\ttrain\tfeats/{k}.npy\n' for k in pose))
    for k, v in pose.items():
        b = io.BytesIO(); np.save(b, v); z.writestr(f'pose/feats/{k}.npy', b.getvalue())
expected = {k: v.astype(np.float64).ravel().tolist() for k, v in {**feats, **pose}.items()}
with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump({'numpy': np.__version__, 'values': expected}, f)

# zip64 everywhere (end record, locator, central-directory extras), as archives over 4 GiB or
# 65535 members have: Python writes them when its limits are exceeded, so lower the limits.
zipfile.ZIP64_LIMIT = 0
zipfile.ZIP_FILECOUNT_LIMIT = 0
with zipfile.ZipFile(os.path.join(out, 'zip64.npz'), 'w', compression=zipfile.ZIP_DEFLATED) as z:
    for k, v in feats.items():
        b = io.BytesIO(); np.save(b, v); z.writestr(f'{k}.npy', b.getvalue())
