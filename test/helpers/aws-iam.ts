/**
 * From the AWS SDK commands the code sends to the IAM actions a principal needs for them, and a
 * reader for IAM policy documents. The rules follow AWS's documentation:
 *  - IAM action names equal API operation names for SageMaker and CloudWatch (`sagemaker:CreateModel`).
 *  - S3 is the exception: HeadObject is authorised as s3:GetObject; the multipart operations as
 *    s3:PutObject; ListObjectsV2 as s3:ListBucket (Amazon S3 User Guide, "Policy actions").
 *  - GetObject/HeadObject of a missing key answer 404 only with s3:ListBucket on the bucket, 403
 *    otherwise; the code tells "does not exist" from "access denied", so it needs s3:ListBucket.
 *  - On a bucket encrypted with SSE-KMS, writing an object needs kms:GenerateDataKey and reading
 *    one kms:Decrypt on the bucket's key.
 *  - CreateTrainingJob (RoleArn) and CreateModel (ExecutionRoleArn) pass the execution role:
 *    iam:PassRole on it.
 *  - A SageMaker Create* call that carries Tags is also authorised as sagemaker:AddTags.
 */
import type { AwsCall } from './infra.ts';

const S3_ACTIONS: Record<string, string[]> = {
  GetObjectCommand: ['s3:GetObject'],
  HeadObjectCommand: ['s3:GetObject'],
  PutObjectCommand: ['s3:PutObject'],
  CreateMultipartUploadCommand: ['s3:PutObject'],
  UploadPartCommand: ['s3:PutObject'],
  CompleteMultipartUploadCommand: ['s3:PutObject'],
  AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
  ListObjectsV2Command: ['s3:ListBucket'],
  DeleteObjectCommand: ['s3:DeleteObject'],
  CopyObjectCommand: ['s3:GetObject', 's3:PutObject'],
};

/** Services whose IAM action names are their API operation names. */
const SAME_NAME_PREFIX: Record<string, string> = { sagemaker: 'sagemaker', cloudwatch: 'cloudwatch' };

export interface RequiredAction {
  action: string;
  because: string;
}

export function requiredActions(calls: AwsCall[], options: { bucketUsesKms: boolean }): RequiredAction[] {
  const required: RequiredAction[] = [];
  const need = (action: string, because: string) => required.push({ action, because });
  for (const call of calls) {
    const where = `${call.command} in ${call.file}`;
    const operation = call.command.replace(/Command$/, '');
    if (call.service === 's3') {
      const actions = S3_ACTIONS[call.command];
      if (!actions) throw new Error(`${where}: no IAM mapping for this S3 command; add it to S3_ACTIONS in test/helpers/aws-iam.ts`);
      for (const action of actions) need(action, where);
      if (call.command === 'GetObjectCommand' || call.command === 'HeadObjectCommand') need('s3:ListBucket', `${where} (404 instead of 403 for a missing key)`);
      if (options.bucketUsesKms && actions.includes('s3:PutObject')) need('kms:GenerateDataKey', `${where} (SSE-KMS bucket)`);
      if (options.bucketUsesKms && call.command === 'GetObjectCommand') need('kms:Decrypt', `${where} (SSE-KMS bucket)`);
      continue;
    }
    const prefix = SAME_NAME_PREFIX[call.service];
    if (!prefix) throw new Error(`${where}: @aws-sdk/client-${call.service} has no IAM mapping in test/helpers/aws-iam.ts`);
    need(`${prefix}:${operation}`, where);
    if (call.service === 'sagemaker') {
      if (operation === 'CreateTrainingJob' || operation === 'CreateModel') need('iam:PassRole', `${where} (execution role)`);
      if (operation.startsWith('Create') && call.fileSendsTags) need('sagemaker:AddTags', `${where} (tags on create)`);
    }
  }
  return required;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  NotResource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** action -> resources it is allowed on (over every statement). */
export function allowedActions(policy: PolicyDocument): Map<string, string[]> {
  const allowed = new Map<string, string[]>();
  for (const statement of policy.Statement) {
    for (const action of asList(statement.Action)) {
      allowed.set(action, [...(allowed.get(action) ?? []), ...asList(statement.Resource)]);
    }
  }
  return allowed;
}

/**
 * Fills a Terraform `templatefile()` template with sample values; a placeholder without a value
 * is an error (Terraform would fail the same way at plan time).
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`template placeholder \${${name}} has no value`);
    return values[name]!;
  });
}

export function templatePlaceholders(template: string): Set<string> {
  return new Set([...template.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!));
}
