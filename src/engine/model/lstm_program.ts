// Fused BiLSTM recurrence for the tfjs WebGPU backend: one dispatch per time step per layer for
// both directions, forward and backward pass alike (the composed TF.js version runs ~70).
//
//   LstmStepProgram      step k: gates = gx[t] + h[k-1]·W_hh, cell and hidden update, for every
//                        (sample, direction, unit); writes h, h[k-1], c and the gate activations.
//   LstmStepGradProgram  step k, from T-1 down to 0: dh = dy[t] + dgates[k+1]·W_hhᵀ, dc, and the
//                        pre-activation gate gradients.
//
// Both directions run the same recurrence over steps k = 0..T-1; each sample's backward
// direction reads its own first n frames reversed and then its padding in order (frame
// t = n-1-k for k < n, else k), exactly as the composed version's gather does. So real frames
// never depend on padding, in either direction.
//
// The whole recurrence lives in one output buffer that every step reads and writes in place
// (the backend's `output` argument); its sections, flat, for B samples, T frames, H units:
//   forward  ("state")  Y  [B, T, 2H]   h, the layer's output layout (forward | backward)
//                       HP [2, B, T, H] h of the previous step (0 at k = 0), for dW_hh
//                       C  [2, B, T, H] cell
//                       G  [2, B, T, 4H] gate activations i, f, g, o (sigmoid, sigmoid, tanh, sigmoid)
//   backward ("dstate") DGA [B, T, 2, 4H] pre-activation gate gradients in gx's layout (= d gx)
//                       DGB [2, B, T, 4H] the same per direction (for dW_hh, and the next step)
//                       DC  [2, B, T, H]  cell gradient
// Frames are indexed by their position in the input (t), not by step, in every section.
// A step reads only what earlier dispatches wrote (step k-1, or k+1 going back), and writes only
// its own frame, so no step races with itself.
//
// Per workgroup one (sample, direction) pair and up to WG units; one thread per unit takes its four
// gate dot products with the previous h (forward), or its dot product of the next step's gate
// gradients with its row of W_hh (backward), reading that vector straight from the buffer: every
// thread of the workgroup reads the same addresses (a broadcast from cache on a GPU). Staging it
// in workgroup memory behind barriers measured 2× slower per step on SwiftShader (GPU timestamps,
// B 8, T 38, H 128: forward 18 vs 9 ms, backward 44 vs 17 ms), and no barrier means no
// uniformity constraints.

import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

/** Float offsets of the sections above, and the buffers' sizes. */
export function lstmLayout(B: number, T: number, H: number) {
  const bth = B * T * H;
  return {
    state: { Y: 0, HP: 2 * bth, C: 4 * bth, G: 6 * bth, size: 14 * bth },
    dstate: { DGA: 0, DGB: 8 * bth, DC: 16 * bth, size: 18 * bth },
  };
}

const COMMON = `
  fn linearWorkgroup() -> i32 {
    return i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
  }
  // The same formulas as tfjs's webgpu sigmoid and tanh kernels (the composed version's).
  fn sigm(x : f32) -> f32 {
    return 1.0 / (1.0 + exp(-1.0 * x));
  }
  fn tanhx(x : f32) -> f32 {
    let e2x = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e2x) / (1.0 + e2x);
  }
  // Input frame of step k in a sample of n real frames.
  fn srcTime(dir : i32, n : i32, k : i32) -> i32 {
    if (dir == 1 && k < n) { return n - 1 - k; }
    return k;
  }
`;

abstract class LstmStep implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'B : i32, T : i32, k : i32,';
  protected readonly H: number;
  protected readonly nj: number; // workgroups per (sample, direction)

  constructor(
    name: string,
    readonly variableNames: string[],
    B: number,
    H: number,
    size: number,
  ) {
    this.H = H;
    this.outputShape = [size];
    const wg = H <= 32 ? 32 : 64;
    this.workgroupSize = [wg, 1, 1];
    this.nj = Math.ceil(H / wg);
    this.dispatch = [2 * B * this.nj, 1, 1];
    this.shaderKey = `ctclab_${name}_${H}_${wg}`;
  }

  /** Shared prologue: which sample, direction and unit this thread owns. */
  protected prologue(): string {
    return `
      let wg = linearWorkgroup();
      let B = uniforms.B;
      let T = uniforms.T;
      let k = uniforms.k;
      let pair = wg / NJ;
      let b = min(pair / 2, B - 1);
      let dir = pair % 2;
      let lid = i32(localId.x);
      let j = (wg % NJ) * WG + lid;
      let live = pair < 2 * B && j < H;
      let n = clamp(lens[b], 0, T);
      let s = (dir * B + b) * T;  // row of (dir, b, t = 0) in the [2, B, T, ·] sections
      let BTH = B * T * H;`;
  }

  protected constants(): string {
    return `
    const H = ${this.H};
    const G4 = ${4 * this.H};
    const WG = ${this.workgroupSize[0]};
    const NJ = ${this.nj};`;
  }

  /** Both programs: the constants, then per thread its (sample, direction, unit) and its input frame t of step k, then `body`. */
  getUserCode(): string {
    return `
    ${COMMON}
    ${this.constants()}
    fn main(index : i32) {
      ${this.prologue()}
      let t = srcTime(dir, n, k);${this.body()}
    }`;
  }

  /** The step's own code (WGSL), after the prologue and t. */
  protected abstract body(): string;
}

export class LstmStepProgram extends LstmStep {
  constructor(B: number, T: number, H: number) {
    super('lstm_step', ['gx', 'whh', 'lens'], B, H, lstmLayout(B, T, H).state.size);
  }

  protected body(): string {
    return `
      let tp = srcTime(dir, n, max(k - 1, 0));
      let hpRow = (b * T + tp) * 2 * H + dir * H;  // h[k-1] in the Y section
      var ai = 0.0;
      var af = 0.0;
      var ag = 0.0;
      var ao = 0.0;
      if (k > 0 && live) {
        for (var m = 0; m < H; m++) {
          let hv = result[hpRow + m];
          let w = (dir * H + m) * G4 + j;
          ai += hv * whh[w];
          af += hv * whh[w + H];
          ag += hv * whh[w + 2 * H];
          ao += hv * whh[w + 3 * H];
        }
      }
      if (live) {
        let row = ((b * T + t) * 2 + dir) * G4;
        let ig = sigm(gx[row + j] + ai);
        let fg = sigm(gx[row + H + j] + af);
        let gg = tanhx(gx[row + 2 * H + j] + ag);
        let og = sigm(gx[row + 3 * H + j] + ao);
        var cp = 0.0;
        var hp = 0.0;
        if (k > 0) {
          cp = result[4 * BTH + (s + tp) * H + j];
          hp = result[hpRow + j];
        }
        let c = fg * cp + ig * gg;
        result[(b * T + t) * 2 * H + dir * H + j] = og * tanhx(c);
        result[2 * BTH + (s + t) * H + j] = hp;
        result[4 * BTH + (s + t) * H + j] = c;
        let q = 6 * BTH + (s + t) * G4 + j;
        result[q] = ig;
        result[q + H] = fg;
        result[q + 2 * H] = gg;
        result[q + 3 * H] = og;
      }`;
  }
}

export class LstmStepGradProgram extends LstmStep {
  constructor(B: number, T: number, H: number) {
    super('lstm_step_grad', ['dy', 'state', 'whhT', 'lens'], B, H, lstmLayout(B, T, H).dstate.size);
  }

  protected body(): string {
    return `
      let tn = srcTime(dir, n, min(k + 1, T - 1));
      let tp = srcTime(dir, n, max(k - 1, 0));
      let G = 6 * BTH;
      let C = 4 * BTH;
      let DGB = 8 * BTH;
      let DC = 16 * BTH;
      // dh from the next step's gate gradients: sum over the 4H gate columns of W_hh[j, ·].
      var dh = 0.0;
      if (k < T - 1 && live) {
        let nrow = DGB + (s + tn) * G4;
        for (var m = 0; m < G4; m++) {
          dh += result[nrow + m] * whhT[(dir * G4 + m) * H + j];
        }
      }
      if (live) {
        dh += dy[(b * T + t) * 2 * H + dir * H + j];
        let q = G + (s + t) * G4 + j;
        let ig = state[q];
        let fg = state[q + H];
        let gg = state[q + 2 * H];
        let og = state[q + 3 * H];
        let tc = tanhx(state[C + (s + t) * H + j]);
        var dc = dh * og * (1.0 - tc * tc);
        if (k < T - 1) { dc += result[DC + (s + tn) * H + j] * state[G + (s + tn) * G4 + H + j]; }
        var cp = 0.0;
        if (k > 0) { cp = state[C + (s + tp) * H + j]; }
        let di = dc * gg * ig * (1.0 - ig);
        let df = dc * cp * fg * (1.0 - fg);
        let dg = dc * ig * (1.0 - gg * gg);
        let dout = dh * tc * og * (1.0 - og);
        let qa = ((b * T + t) * 2 + dir) * G4 + j;
        result[qa] = di;
        result[qa + H] = df;
        result[qa + 2 * H] = dg;
        result[qa + 3 * H] = dout;
        let qb = DGB + (s + t) * G4 + j;
        result[qb] = di;
        result[qb + H] = df;
        result[qb + 2 * H] = dg;
        result[qb + 3 * H] = dout;
        result[DC + (s + t) * H + j] = dc;
      }`;
  }
}
