# `terraform test` without an AWS account: the AWS provider is mocked, so this checks what the
# configuration itself computes (policy documents rendered from the templates, bucket settings,
# the optional Pod Identity association), not what AWS would accept.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::acme-driftline-artifacts", id = "acme-driftline-artifacts", bucket = "acme-driftline-artifacts" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-0000-0000-0000-000000000000", key_id = "0f1e2d3c-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/driftline-sagemaker-execution", id = "driftline-sagemaker-execution", name = "driftline-sagemaker-execution" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/driftline-worker" }
  }
}

variables {
  region                = "us-east-1"
  artifacts_bucket_name = "acme-driftline-artifacts"
}

run "renders_policies_and_bucket_settings" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_policy.worker.policy).Version == "2012-10-17"
    error_message = "the worker policy template does not render to a policy document"
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_policy.worker.policy).Statement : s.Resource]), "arn:aws:s3:::acme-driftline-artifacts/*")
    error_message = "the worker policy is not scoped to the artifacts bucket"
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_role_policy.sagemaker_execution.policy).Statement : s.Resource]), "arn:aws:ecr:us-east-1:123456789012:repository/driftline-*")
    error_message = "without repositories given, SageMaker may pull only the driftline-* repositories"
  }
  assert {
    condition     = aws_s3_bucket_versioning.artifacts.versioning_configuration[0].status == "Enabled"
    error_message = "the artifacts bucket must be versioned"
  }
  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.artifacts.rule : r.apply_server_side_encryption_by_default[0].sse_algorithm]) == "aws:kms"
    error_message = "the artifacts bucket must be encrypted with KMS"
  }
  assert {
    condition     = length(aws_eks_pod_identity_association.worker) == 0
    error_message = "no Pod Identity association without an EKS cluster name"
  }
  assert {
    condition     = output.artifacts_uri == "s3://acme-driftline-artifacts/artifacts"
    error_message = "artifacts_uri is the value for DRIFTLINE_ARTIFACTS"
  }
}

run "associates_the_service_account_on_eks" {
  command = plan
  variables {
    eks_cluster_name                = "ml-platform"
    sagemaker_image_repository_arns = ["arn:aws:ecr:us-east-1:123456789012:repository/trainers"]
  }

  assert {
    condition     = aws_eks_pod_identity_association.worker[0].namespace == "driftline" && aws_eks_pod_identity_association.worker[0].service_account == "driftline-worker"
    error_message = "the association must name the namespace and service account of infra/k8s"
  }
}
