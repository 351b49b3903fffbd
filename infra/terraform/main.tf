# The AWS side of a Driftline deployment: the artifacts bucket (encrypted with its own KMS key,
# versioned, private, TLS only), the SageMaker execution role, and the workers' least-privilege
# policy. The policy documents are JSON templates under policies/ so that the test suite can check
# them against the AWS calls the code makes (test/infra.test.ts).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  policy_vars = {
    partition                    = local.partition
    region                       = var.region
    account_id                   = local.account_id
    bucket_arn                   = aws_s3_bucket.artifacts.arn
    kms_key_arn                  = aws_kms_key.artifacts.arn
    sagemaker_name_prefix        = var.sagemaker_name_prefix
    sagemaker_execution_role_arn = aws_iam_role.sagemaker_execution.arn
  }
}
