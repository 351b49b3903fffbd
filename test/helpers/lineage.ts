/** A realistic lineage for registry tests; override any part. */
import { createHash } from 'node:crypto';
import type { LineageInput } from '../../core/registry.ts';

export const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

export function lineage(overrides: Partial<LineageInput> = {}): LineageInput {
  return {
    code: { repository: 'github.com/acme/fraud', commit: '3f2c1d9e8b7a' },
    trainData: { uri: 's3://acme-ml/fraud/train-2026-11.csv', sha256: sha('train') },
    holdoutData: { uri: 's3://acme-ml/fraud/holdout-2026-11.csv', sha256: sha('holdout') },
    parameters: { learningRate: 0.1, maxDepth: 6, features: ['amount', 'merchant'] },
    metrics: { accuracy: 0.9312, f1: 0.8805, rocAuc: 0.9641 },
    artifact: { uri: 's3://acme-ml/fraud/models/model.tar.gz', sha256: sha('model') },
    training: { backend: 'sagemaker', jobId: 'driftline-ct-fraud-3f2c1d9' },
    ...overrides,
  };
}

