/**
 * Optimisers as pure state updates: `step(parameters, gradient, state)` returns new parameters and a new state and
 * changes neither input. The state is explicit data (typed arrays and a step count) so a bank can keep it between
 * federated rounds, or drop it, without the optimiser holding anything hidden.
 *
 * - SGD, optionally with momentum in PyTorch's form: v ← μ·v + g; θ ← θ − η·v (μ = 0 is plain SGD: θ ← θ − η·g).
 * - Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015, Algorithm 1): m ← β1·m + (1 − β1)·g;
 *   v ← β2·v + (1 − β2)·g²; θ ← θ − η·m̂ / (√v̂ + ε) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
 */

/** Which optimiser and its hyper-parameters. */
export type OptimiserConfig =
  | {
      readonly kind: 'sgd';
      /** η > 0. */
      readonly learningRate: number;
      /** μ in [0, 1); default 0 (plain SGD). */
      readonly momentum?: number;
    }
  | {
      readonly kind: 'adam';
      /** η > 0. */
      readonly learningRate: number;
      /** Default 0.9. */
      readonly beta1?: number;
      /** Default 0.999. */
      readonly beta2?: number;
      /** Default 1e-8. */
      readonly epsilon?: number;
    };

/** What an optimiser carries from one step to the next. */
export type OptimiserState =
  /** `velocity` is null for plain SGD (no momentum). */
  | { readonly kind: 'sgd'; readonly velocity: Float64Array | null }
  /** `step` = t, the number of steps taken; `m` and `v` are the first and second moment estimates. */
  | { readonly kind: 'adam'; readonly step: number; readonly m: Float64Array; readonly v: Float64Array };

/** An optimiser: its starting state and its pure update. */
export interface Optimiser {
  readonly config: OptimiserConfig;
  /** The state before the first step, for `parameterCount` parameters. */
  initialState(parameterCount: number): OptimiserState;
  /**
   * One update. Returns new arrays; `parameters`, `gradient` and `state` are left unchanged.
   * Throws RangeError if the lengths differ or the state belongs to another optimiser kind.
   */
  step(
    parameters: Float64Array,
    gradient: Float64Array,
    state: OptimiserState,
  ): { parameters: Float64Array; state: OptimiserState };
}

/** The optimiser `config` describes. Throws RangeError on an out-of-range hyper-parameter. */
export function createOptimiser(config: OptimiserConfig): Optimiser {
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) {
    throw new RangeError('learningRate must be a finite number > 0');
  }
  if (config.kind === 'sgd') return sgd(config.learningRate, config.momentum ?? 0, config);
  if (config.kind === 'adam') {
    return adam(
      config.learningRate,
      config.beta1 ?? 0.9,
      config.beta2 ?? 0.999,
      config.epsilon ?? 1e-8,
      config,
    );
  }
  throw new RangeError('unknown optimiser kind');
}

function sgd(rate: number, momentum: number, config: OptimiserConfig): Optimiser {
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError('momentum must be in [0, 1)');
  return {
    config,
    initialState: (count) => ({ kind: 'sgd', velocity: momentum > 0 ? new Float64Array(count) : null }),
    step(parameters, gradient, state) {
      checkLengths(parameters, gradient);
      if (state.kind !== 'sgd') throw new RangeError('the optimiser state is not an SGD state');
      const next = new Float64Array(parameters.length);
      if (momentum === 0) {
        for (let k = 0; k < next.length; k++) next[k] = parameters[k]! - rate * gradient[k]!;
        return { parameters: next, state: { kind: 'sgd', velocity: null } };
      }
      const before = state.velocity;
      if (before !== null && before.length !== parameters.length) {
        throw new RangeError('the optimiser state has a different length from the parameters');
      }
      const velocity = new Float64Array(parameters.length);
      for (let k = 0; k < next.length; k++) {
        const v = momentum * (before === null ? 0 : before[k]!) + gradient[k]!;
        velocity[k] = v;
        next[k] = parameters[k]! - rate * v;
      }
      return { parameters: next, state: { kind: 'sgd', velocity } };
    },
  };
}

function adam(
  rate: number,
  beta1: number,
  beta2: number,
  epsilon: number,
  config: OptimiserConfig,
): Optimiser {
  if (!(beta1 >= 0 && beta1 < 1)) throw new RangeError('beta1 must be in [0, 1)');
  if (!(beta2 >= 0 && beta2 < 1)) throw new RangeError('beta2 must be in [0, 1)');
  if (!(epsilon > 0)) throw new RangeError('epsilon must be > 0');
  return {
    config,
    initialState: (count) => ({
      kind: 'adam',
      step: 0,
      m: new Float64Array(count),
      v: new Float64Array(count),
    }),
    step(parameters, gradient, state) {
      checkLengths(parameters, gradient);
      if (state.kind !== 'adam') throw new RangeError('the optimiser state is not an Adam state');
      if (state.m.length !== parameters.length || state.v.length !== parameters.length) {
        throw new RangeError('the optimiser state has a different length from the parameters');
      }
      const t = state.step + 1;
      const correct1 = 1 - beta1 ** t;
      const correct2 = 1 - beta2 ** t;
      const next = new Float64Array(parameters.length);
      const m = new Float64Array(parameters.length);
      const v = new Float64Array(parameters.length);
      for (let k = 0; k < next.length; k++) {
        const g = gradient[k]!;
        const mk = beta1 * state.m[k]! + (1 - beta1) * g;
        const vk = beta2 * state.v[k]! + (1 - beta2) * g * g;
        m[k] = mk;
        v[k] = vk;
        next[k] = parameters[k]! - (rate * (mk / correct1)) / (Math.sqrt(vk / correct2) + epsilon);
      }
      return { parameters: next, state: { kind: 'adam', step: t, m, v } };
    },
  };
}

function checkLengths(parameters: Float64Array, gradient: Float64Array): void {
  if (gradient.length !== parameters.length) {
    throw new RangeError(`gradient has ${gradient.length} values, parameters ${parameters.length}`);
  }
}
