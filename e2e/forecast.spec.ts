// The learning-curve forecast on the page (issue 20): the Target WER field refuses a value outside
// [0, 100]; while the demo run is on the blank plateau or has too few evaluated epochs the Forecast
// note says why it is withheld, then it projects val WER to the planned last epoch with its 80%
// interval and the target's epoch, and the WER chart draws the band.

import { test, expect } from './fixtures';

test('the forecast on the WER chart: withheld with its reason, then a projection with its band and the target', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.fill({ 'Target WER (%)': 150 });
  await expect(tr.alert).toContainText('Target WER: expected 0 (none) or a val WER in percent, above 0 and at most 100; got 150');
  await expect(tr.button('Start training')).toBeDisabled();

  // A small tcn at lr 0.01 without warmup leaves the demo's blank plateau after epoch 1 (cpu backend:
  // val WER 100%, then 14%); the forecast needs 5 evaluated epochs after it (fit.ts): epoch 6 has one.
  await tr.start({
    Channels: 32,
    Blocks: 2,
    Epochs: 10,
    'Accumulation steps': 1,
    'Peak learning rate': 0.01,
    'Warmup epochs': 0,
    'Early-stopping patience': 0,
    'Target WER (%)': 25,
  });
  const withheld = /forecast withheld: (still on the blank plateau at epoch \d|\d evaluated epoch\(s\) since the blank plateau ended; a forecast needs 5)/;
  await expect(tr.forecast).toContainText(withheld, { timeout: 120_000 });
  await expect(tr.chart('Validation WER')).not.toContainText('80% band');

  await expect(tr.forecast).toContainText(/projected val WER at epoch 10: \d+% \(\d+–\d+%, 80% interval\)/, { timeout: 240_000 });
  await expect(tr.forecast).toContainText(/target 25% (reached at epoch \d|near epoch \d+ \(\d+–(\d+|beyond 10)\)|: not within the planned 10 epochs)/);
  await expect(tr.chart('Validation WER')).toContainText('80% band');
  await tr.stop();
});
