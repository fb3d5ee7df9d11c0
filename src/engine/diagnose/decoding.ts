// The decoding check's measurements (check 6 of the training report, 5 of the outputs report),
// gathered sample by sample: greedy, adaptive and beam hypotheses, the tokens the adaptive filter
// dropped, and how many of the greedy tokens were right and of those how many it dropped.

import { correctMask } from '../metrics/tokens';
import { wer } from '../metrics/wer';
import type { DecodingFacts } from './checks';

export class DecodingTally {
  readonly refs: string[] = [];
  readonly greedy: string[] = [];
  readonly adaptive: string[] = [];
  readonly beam: string[] = [];
  private greedyTokens = 0;
  private dropped = 0;
  private greedyCorrect = 0;
  private correctDropped = 0;

  /** One sample: its reference, its greedy tokens, the adaptive filter's verdict on them (kept[k] for greedy token k), the adaptive and beam hypotheses. */
  add(ref: string, greedyTokens: string[], filter: { dropped: number; kept: boolean[] }, adaptive: string, beam: string): void {
    this.refs.push(ref);
    this.greedy.push(greedyTokens.join(' '));
    this.greedyTokens += greedyTokens.length;
    this.dropped += filter.dropped;
    correctMask(ref.split(' '), greedyTokens).forEach((ok, k) => {
      if (!ok) return;
      this.greedyCorrect++;
      if (!filter.kept[k]) this.correctDropped++;
    });
    this.adaptive.push(adaptive);
    this.beam.push(beam);
  }

  facts(split: string, beamWidth: number): DecodingFacts {
    return {
      samples: this.refs.length,
      split,
      greedyWer: wer(this.refs, this.greedy).rate,
      adaptiveWer: wer(this.refs, this.adaptive).rate,
      beamWer: wer(this.refs, this.beam).rate,
      beamWidth,
      greedyTokens: this.greedyTokens,
      adaptiveDropped: this.dropped,
      greedyCorrect: this.greedyCorrect,
      correctDropped: this.correctDropped,
    };
  }
}
