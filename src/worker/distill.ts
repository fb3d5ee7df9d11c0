// Distillation in the worker: the teachers a dataset offers (its stored checkpoints, and the
// imported model-output sets attached to it), each checked against the dataset by the engine's
// rules (engine/distill/teachers.ts). A run's teacher is built where its trainer is
// (engine/distill/student.ts, called by the training feature).

import { storedReads } from '../data/reads';
import * as store from '../data/store';
import { teacherChoices } from '../engine/distill/teachers';
import type { DistillApi } from './api';

export const distill: DistillApi = {
  listTeachers: async (datasetId) => teacherChoices(await store.getDataset(datasetId), storedReads),
};
