import { test, expect } from './fixtures';

// Issue #23's page part: a 3-gram built from the demo's transcripts, listed with its perplexity;
// diagnostics (the fresh model: the quickest subject) decodes with it — greedy, beam and beam + LM
// side by side, α and β tuned, the searches in the decode pool's workers — and the hypotheses
// download as .tsv.
test('a 3-gram from the demo transcripts: listed with its perplexity, diagnostics decode with it, hypotheses download', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const row = await lab.lms.build(3);
  // Order, n-gram counts, size, val perplexity on the demo's 16 val transcripts.
  await expect(row.getByRole('cell').nth(1)).toHaveText('3');
  await expect(row).toContainText(/\d+ \/ \d+ \/ \d+/);
  await expect(row).toContainText(/\d+\.\d\d \(16 sentences, 0 OOV\)/);

  const diag = lab.diagnostics;
  const workers: string[] = []; // the decode pool's workers (nested in the lab's worker)
  lab.page.on('worker', (w) => workers.push(w.url()));
  await diag.chooseLm('3-gram of the training transcripts');
  await diag.run();
  await expect(diag.lm).toBeVisible({ timeout: 60_000 });
  const decoders = diag.lm.getByRole('table', { name: 'Decoders compared' }).getByRole('rowheader');
  await expect(decoders).toHaveText(['greedy', 'beam', /^beam \+ LM \(α [\d.]+, β -?[\d.]+\)$/]);
  await expect(diag.lm).toContainText(/The LM (helps|does not help)/);
  expect(workers.filter((u) => u.includes('lm_decode.worker')).length).toBeGreaterThanOrEqual(1);

  for (const [button, name] of [
    ['Download hypotheses (greedy)', /-greedy\.tsv$/],
    ['Download hypotheses (beam + LM)', /-beam10-lm-3-gram_of_the_training_transcripts-a[\d.]+-b-?[\d.]+\.tsv$/],
  ] as const) {
    const file = await diag.downloadText(diag.lm.getByRole('button', { name: button }));
    expect(file.name).toMatch(name);
    const lines = file.text.trimEnd().split('\n');
    expect(lines[0]).toBe('id\treference\thypothesis');
    expect(lines.length).toBe(1 + 16);
    expect(lines.slice(1).every((l) => l.split('\t').length === 3)).toBe(true);
  }
});
