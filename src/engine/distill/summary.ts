// The distillation summary at the end of a run: teacher vs student on the validation split —
// WER, parameters, inference time per sample (measured here, on this backend) and agreement
// (share of samples whose greedy decodes are equal).

import type { Trainer } from '../train/trainer';
import type { TeacherInfo } from './settings';

export interface DistillSummary {
  samples: number; // validation samples compared
  agreement: number; // 0..1
  student: { preset: string; subsampling: number; params: number; valWer: number; msPerSample: number | null };
  // A stored output set has no model here: its parameters and inference time are unknown (null).
  teacher: { info: TeacherInfo; params: number | null; valWer: number; msPerSample: number | null };
}

/** null when the run has no teacher or no validation samples. */
export async function distillationSummary(trainer: Trainer): Promise<DistillSummary | null> {
  const d = trainer.distill;
  if (!d) return null;
  const ev = await trainer.evaluate();
  if (!ev || ev.agreement === undefined || ev.teacherWer === undefined) return null;
  const teacherModel = d.teacher.model;
  return {
    samples: ev.hyps.length,
    agreement: ev.agreement,
    student: {
      preset: trainer.model.config.preset,
      subsampling: trainer.model.subsampling,
      params: trainer.model.paramCount(),
      valWer: ev.wer,
      msPerSample: await trainer.inferenceMsPerSample(),
    },
    teacher: {
      info: { ...d.teacher.info },
      params: teacherModel ? teacherModel.paramCount() : (d.teacher.info.params ?? null),
      valWer: ev.teacherWer,
      msPerSample: teacherModel ? await trainer.inferenceMsPerSample(teacherModel) : null,
    },
  };
}
