// The recipes as the twin reads them (python -m ctc_lab train --recipe R; python/tests/test_recipes.py):
// fixtures/recipes.json holds each recipe's settings, and the config the form has after choosing a model and the recipe.

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, presetSize } from '../model/presets';
import { RECIPES, TRAIN_DEFAULTS, type RecipeName } from './config';

const FIXTURE = new URL('./fixtures/recipes.json', import.meta.url);

describe('the recipes', () => {
  it('recipes.json holds the lab’s recipes (rewrite with UPDATE_RECIPE_FIXTURES=1)', () => {
    // recipes: each one's settings; applied: the form's config after choosing a model, then the recipe (client/training.svelte.ts)
    const applied = (preset: (typeof PRESET_NAMES)[number], name: RecipeName) => ({
      ...TRAIN_DEFAULTS,
      preset,
      ...presetSize(preset),
      ...RECIPES[name].config,
    });
    const now = {
      recipes: Object.fromEntries(Object.entries(RECIPES).map(([name, r]) => [name, r.config])),
      applied: Object.fromEntries(PRESET_NAMES.map((p) => [p, Object.fromEntries(Object.keys(RECIPES).map((n) => [n, applied(p, n as RecipeName)]))])),
    };
    if (process.env.UPDATE_RECIPE_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now, null, 1)}\n`);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(now);
  });

  it('set only fields of the training config; Generalise turns augmentation and EMA on', () => {
    for (const r of Object.values(RECIPES)) for (const k of Object.keys(r.config)) expect(Object.keys(TRAIN_DEFAULTS)).toContain(k);
    const g = RECIPES.generalise.config;
    expect(g.emaDecay).toBeGreaterThan(0);
    expect(g.augment!.stretchMin).toBeLessThan(1);
    expect(g.augment!.timeMasks + g.augment!.featureMasks).toBeGreaterThan(0);
  });
});
