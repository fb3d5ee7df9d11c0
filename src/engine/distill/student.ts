// A student's trainer: the Trainer with its teacher when the run has one (a new run's request, or
// the record a run or its checkpoint keeps). The trainer owns the teacher; if it refuses to start
// (frames differ, settings unusable), the teacher is disposed again and the refusal passed on.

import type { StoredReads } from '../../data/reads';
import type { SampleSource } from '../../data/source';
import type { DatasetMeta, DistillationRecord } from '../../data/types';
import type { TrainConfig } from '../train/config';
import { Trainer } from '../train/trainer';
import type { Distillation, DistillSettings, TeacherRef } from './settings';
import { teacherFor } from './teachers';
import type { TeacherSource } from './teacher';

/** What a student run learns from: a new run's request, or the stored record (settings flat, the teacher named). */
export type StudentOf = Distillation<TeacherRef> | DistillationRecord;

/** The request or the stored record as a teacher reference and the settings (a missing number: NaN, refused by the trainer). */
export function distillationOf(d: StudentOf): Distillation<TeacherRef & { name?: string }> {
  const s: Partial<DistillSettings> = 'settings' in d ? d.settings : d;
  return {
    teacher: d.teacher,
    settings: { kdWeight: s.kdWeight ?? NaN, ctcWeight: s.ctcWeight ?? NaN, temperature: s.temperature ?? NaN, excludeBlank: s.excludeBlank ?? true },
  };
}

export async function studentTrainer(
  dataset: DatasetMeta,
  source: SampleSource,
  config: TrainConfig,
  resume: ConstructorParameters<typeof Trainer>[3],
  distillation: StudentOf | null | undefined,
  reads: StoredReads,
): Promise<Trainer> {
  if (!distillation) return new Trainer(dataset, source, config, resume);
  const { teacher: t, settings } = distillationOf(distillation);
  let teacher: TeacherSource;
  try {
    teacher = await teacherFor(dataset, t, reads);
  } catch (e) {
    throw new Error(
      `the teacher (${t.kind === 'checkpoint' ? 'checkpoint' : 'model outputs'} ${t.name ?? t.id}) cannot be used: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  try {
    return new Trainer(dataset, source, config, resume, { teacher, settings });
  } catch (e) {
    teacher.dispose();
    throw e;
  }
}
