// A step that runs every time it is selected: a restore, a rebuild, a rotation. Its check never
// reports "done" (there is no state that says a requested restore already happened), so the
// engine's default proof, "check now says done", cannot apply: such a step proves itself inside
// apply, or in the `verify` it is given. This builder says that once instead of in every step.
import type { Step, StepContext } from '../engine/types.ts';

export interface AlwaysRunStep<C> extends Omit<Step<C>, 'check' | 'verify'> {
  /** Why it runs, shown as the check's reason (e.g. 'restore requested'). */
  reason: string;
  /** Read-only preconditions checked right before apply; throw a RunbookError to refuse. */
  precondition?(ctx: StepContext<C>): Promise<void>;
  /** The proof after apply; without it the step is proven inside its apply. */
  verify?(ctx: StepContext<C>): Promise<void>;
}

/** Step: always applied when selected (check reports not done with `reason`); proven by apply or `verify`. */
export function alwaysRunStep<C>(o: AlwaysRunStep<C>): Step<C> {
  const { reason, precondition, verify, ...step } = o;
  return {
    ...step,
    async check(ctx) {
      await precondition?.(ctx);
      return { done: false, reason };
    },
    verify: verify ?? (async () => {}),
  };
}
