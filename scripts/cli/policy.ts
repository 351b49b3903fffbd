/**
 * `driftline policy validate <file>` and `driftline policy schema`: a policy is checked, with the
 * file and the offending field named, before any pipeline starts.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { continuousTrainingInputSchema } from '../../core/training.ts';
import { UsageError } from './errors.ts';
import { readJsonFile } from './json-file.ts';
import { print, printJson } from './output.ts';

export const pipelinePolicySchema = continuousTrainingInputSchema.shape.policy;

export function policyJsonSchema(): unknown {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'Driftline pipeline policy', ...z.toJSONSchema(pipelinePolicySchema, { io: 'input' }) };
}

export async function validatePolicyFile(path: string): Promise<z.infer<typeof pipelinePolicySchema>> {
  const json = await readJsonFile(path, 'policy');
  const parsed = pipelinePolicySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${path}: ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  return parsed.data;
}

export function policyCommand(): Command {
  const policy = new Command('policy').description('Pipeline policies: data contract, evaluation gates.');
  policy
    .command('validate')
    .description('Check a policy file; name the field that is wrong.')
    .argument('<file>', 'policy file (JSON)')
    .option('--json', 'print the normalised policy as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const valid = await validatePolicyFile(file);
      if (flags.json) printJson(valid);
      else print(`${file}: valid (${Object.keys(valid.dataContract.columns).length} columns in the data contract, label "${valid.dataContract.label}")`);
    });
  policy
    .command('schema')
    .description('Print the JSON Schema of policy files (for editors and CI linting).')
    .action(() => printJson(policyJsonSchema()));
  return policy;
}
