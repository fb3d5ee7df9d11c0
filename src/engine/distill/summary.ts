// The distillation summary at the end of a run: teacher vs student on the validation split —
// WER, parameters, inference time per sample (measured here, on this backend) and agreement
// (share of samples whose greedy decodes are equal).

import type { Trainer } from '../train/trainer';
import type { DistillationSummary } from '../../data/types';
import type { ModelConfig } from '../model/registry';

/** null when the run has no teacher or no validation samples. */
export async function distillationSummary(trainer: Trainer): Promise<DistillationSummary<ModelConfig> | null> {
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
