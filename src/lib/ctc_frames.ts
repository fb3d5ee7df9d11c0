// The fewest input frames a CTC label sequence needs: one per label, plus one blank between each
// pair of equal neighbours (CTC cannot emit "a a" without a blank in between). Shared by the data
// layer (import feasibility) and the engine (CTC op, trainer).

export function ctcMinFrames(labels: ArrayLike<number>): number {
  let need = labels.length;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) need++;
  return need;
}
