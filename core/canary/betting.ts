/**
 * An exact sequential test that the mean of a bounded quantity stays at or below a limit, by
 * betting (Waudby-Smith and Ramdas, "Estimating means of bounded random variables by betting").
 * Used where each observation is a *pair* (the shadow phase: candidate and baseline answer the same
 * request): the divergence between their predictions, and paired sign tests for errors and latency.
 *
 * ## The test
 * Observations D_1, D_2, … lie in [0, 1]; the null is E[D_i | D_1..D_{i−1}] ≤ m for every i (no
 * independence or identical distribution needed). For a fixed bet λ ∈ [0, 1/m),
 *
 *     W_t(λ) = Π_{i ≤ t} (1 + λ·(D_i − m))
 *
 * is positive (each factor ≥ 1 − λm > 0) and, under the null, a supermartingale with W_0 = 1:
 * E[1 + λ(D_i − m) | past] = 1 + λ(E[D_i | past] − m) ≤ 1 because λ ≥ 0. An equal-weight mixture over
 * a fixed grid of bets, W_t = mean_j W_t(λ_j), is again such a supermartingale, so by Ville's
 * inequality P(∃t: W_t ≥ 1/α) ≤ α under the null, however often it is checked. The grid spreads the
 * bets from timid to bold (λ_j = f_j / m), so a large excess is caught fast and a small one still grows.
 */

/** Bet sizes as fractions of the largest allowed bet 1/m. */
export const BET_FRACTIONS: readonly number[] = [0.05, 0.1, 0.2, 0.35, 0.5, 0.7];

/** log W(λ_j) for each bet of the grid, starting at 0 (W = 1). */
export function newBettingWealth(): number[] {
  return BET_FRACTIONS.map(() => 0);
}

/** The log-wealth increments of one block of observations (in arrival order) for each bet. */
export function bettingBlockLogs(values: ArrayLike<number>, limit: number): number[] {
  if (!(limit > 0 && limit < 1)) throw new RangeError(`a betting limit must be in (0, 1), got ${limit}`);
  return BET_FRACTIONS.map((fraction) => {
    const lambda = fraction / limit;
    let sum = 0;
    for (let i = 0; i < values.length; i++) {
      const d = Math.min(1, Math.max(0, values[i]!));
      sum += Math.log1p(lambda * (d - limit));
    }
    return sum;
  });
}
