import { test, expect } from './fixtures';

// Issue 21: the demo trained two epochs with every augmentation op on; the form names a bad setting;
// the downloaded checkpoint's config records the settings.
test('augmentation: every op on for two epochs on the demo, recorded in the downloaded checkpoint; a bad range is named', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  const aug = tr.group('Augmentation');
  await tr.fill({ 'Stretch min': 1.3, 'Stretch max': 1.2 });
  await expect(aug.getByRole('alert')).toContainText('augment.stretchMin: expected at most stretchMax (1.2), got 1.3');
  await tr.fill({ 'Stretch min': 0.8 });
  await expect(aug.getByRole('alert')).toHaveCount(0);
  const settings = {
    'Time masks': 2,
    'Time mask width': 0.1,
    'Feature masks': 1,
    'Feature mask width': 0.2,
    'Feature warp ±': 0.1,
    'Noise σ': 0.05,
    'Frame drop': 0.1,
  };
  await tr.train({
    Channels: 16,
    Blocks: 1,
    Epochs: 2,
    'Train subset': 16,
    'Accumulation steps': 1,
    'Warmup epochs': 0,
    'Early-stopping patience': 0,
    ...settings,
  });
  const runRow = tr.runs.first();
  await expect(tr.cell(runRow, 'epochs')).toHaveText('2/2');

  const { bytes } = await tr.downloadText(runRow.getByRole('button', { name: 'Download last' }));
  const n = Number(bytes.readBigUInt64LE(0));
  const meta = JSON.parse(JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).__metadata__.ctc_lab);
  expect(meta.training.config.augment).toEqual({
    stretchMin: 0.8,
    stretchMax: 1.2,
    timeMasks: 2,
    timeMaskWidth: 0.1,
    featureMasks: 1,
    featureMaskWidth: 0.2,
    featureWarp: 0.1,
    noise: 0.05,
    frameDrop: 0.1,
  });
  expect(meta.history).toHaveLength(2);
  for (const h of meta.history) expect(Number.isFinite(h.trainLoss)).toBe(true);
});
