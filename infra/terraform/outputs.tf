output "artifacts_uri" {
  description = "Value for DRIFTLINE_ARTIFACTS."
  value       = "s3://${aws_s3_bucket.artifacts.bucket}/artifacts"
}

output "artifacts_bucket_arn" {
  value = aws_s3_bucket.artifacts.arn
}

output "artifacts_kms_key_arn" {
  value = aws_kms_key.artifacts.arn
}

output "sagemaker_execution_role_arn" {
  description = "roleArn for SageMaker trainers in pipeline configurations."
  value       = aws_iam_role.sagemaker_execution.arn
}

output "worker_role_arn" {
  value = aws_iam_role.worker.arn
}

output "worker_policy_arn" {
  description = "Attach to whatever identity runs the workers outside EKS."
  value       = aws_iam_policy.worker.arn
}
