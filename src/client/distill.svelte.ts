// Page state of distillation: the teachers the selected dataset offers (its stored checkpoints and
// the model-output sets attached to it), the chosen one, and the four KD settings. Training asks
// for request() when a run starts; the live KL curve, the agreement and the summary come with the
// run (its epochs and its record).

import { DISTILL_DEFAULTS, type Distillation, type DistillSettings, type TeacherChoice, type TeacherRef } from '../worker/api';
import { message, type LabContext } from './context';

const keyOf = (t: { kind: string; id: string }) => `${t.kind}:${t.id}`;

export class DistillState {
  teachers = $state.raw<TeacherChoice[]>([]);
  /** '' = no teacher (plain training); else "kind:id" of a listed teacher. */
  teacherKey = $state('');
  settings = $state<DistillSettings>({ ...DISTILL_DEFAULTS });
  error = $state<string | null>(null);

  selected = $derived(this.teachers.find((t) => keyOf(t) === this.teacherKey) ?? null);

  /** The teacher's output frames will not equal the student's: say so before the run refuses. */
  mismatch = $derived.by(() => {
    const t = this.selected;
    const mine = this.studentSubsampling();
    if (!t || t.subsampling === null || t.subsampling === mine) return null;
    return `The teacher's time subsampling is ×${t.subsampling}, the student's ×${mine}: their output frames differ, so the run would refuse to start.${t.subsampling === 4 || t.subsampling === 2 ? ` Choose a student with ×${t.subsampling} (tcn offers both).` : ''}`;
  });

  constructor(
    private readonly ctx: LabContext,
    private readonly studentSubsampling: () => number,
  ) {}

  keyOf = keyOf;

  async refresh(): Promise<void> {
    const id = this.ctx.dataset?.id;
    try {
      this.teachers = id ? await this.ctx.api.listTeachers(id) : [];
      this.error = null;
    } catch (e) {
      this.teachers = [];
      this.error = message(e);
    }
    if (this.teacherKey && !this.selected) this.teacherKey = ''; // the chosen teacher is gone (deleted, other dataset)
  }

  /** What a new run learns from, or null for plain training. */
  request(): Distillation<TeacherRef> | null {
    const t = this.selected;
    if (!t) return null;
    return { teacher: { kind: t.kind, id: t.id }, settings: $state.snapshot(this.settings) };
  }
}
