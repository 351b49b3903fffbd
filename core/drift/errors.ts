/**
 * Bad input to the drift statistics. A statistic computed from infinities or from no rows would be
 * NaN or a meaningless number, and a drift verdict built on it would be silently wrong, so the
 * statistics refuse such input with this error instead. Callers at an edge (an activity, the CLI)
 * turn it into their own "invalid input" failure.
 */
export type DriftInputProblem = 'empty' | 'non-finite' | 'invalid';

export class DriftInputError extends Error {
  override readonly name = 'DriftInputError';
  readonly problem: DriftInputProblem;

  constructor(problem: DriftInputProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}
