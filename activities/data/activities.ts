/**
 * Data activities: profile a dataset in one streaming pass (sha256 included) and check it against
 * the data contract. Runs on the training queue: datasets can be large.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { contractViolations } from '../../core/data-contract.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import { dataContractSchema, type DataContract } from '../../core/training.ts';
import { MalformedDataset, profileCsv } from './csv-profile.ts';
import { DatasetNotFound } from './source.ts';

export interface DatasetValidation {
  uri: string;
  sha256: string;
  rows: number;
  bytes: number;
  violations: string[];
}

export const dataActivities = {
  async validateDataset(input: { uri: string; role: string; contract: DataContract }): Promise<DatasetValidation> {
    const contract = dataContractSchema.safeParse(input.contract);
    if (!contract.success) throw ApplicationFailure.nonRetryable(`Invalid data contract: ${contract.error.issues[0]?.message}`, INVALID_INPUT);
    try {
      const profile = await profileCsv(input.uri, (rows) => Context.current().heartbeat({ rows }));
      return {
        uri: profile.uri,
        sha256: profile.sha256,
        rows: profile.rows,
        bytes: profile.bytes,
        violations: contractViolations(profile, contract.data, input.role),
      };
    } catch (error) {
      if (error instanceof DatasetNotFound || error instanceof MalformedDataset) {
        throw ApplicationFailure.nonRetryable(`${input.role} dataset: ${error.message}`, INVALID_INPUT);
      }
      throw error;
    }
  },
};
