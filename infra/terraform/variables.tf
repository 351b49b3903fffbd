variable "region" {
  description = "AWS region for the bucket, the SageMaker jobs and endpoints the workers manage."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every name this module creates (roles, policy, key alias)."
  type        = string
  default     = "driftline"
}

variable "artifacts_bucket_name" {
  description = "Name of the S3 bucket for datasets, models and reports (DRIFTLINE_ARTIFACTS=s3://<bucket>/artifacts)."
  type        = string
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept before it expires."
  type        = number
  default     = 365
}

variable "sagemaker_name_prefix" {
  description = "Prefix the workers' SageMaker resources (training and transform jobs, models, endpoints, endpoint configurations) must start with. Empty: any name in this account and region."
  type        = string
  default     = ""
}

variable "sagemaker_image_repository_arns" {
  description = "ECR repositories whose images SageMaker may pull for training and batch transform."
  type        = list(string)
  default     = []
}

variable "eks_cluster_name" {
  description = "EKS cluster whose driftline-worker service account gets the worker role (EKS Pod Identity). Empty: no association; attach the worker policy yourself."
  type        = string
  default     = ""
}

variable "kubernetes_namespace" {
  description = "Kubernetes namespace of the workers (infra/k8s uses driftline)."
  type        = string
  default     = "driftline"
}

variable "kubernetes_service_account" {
  description = "Kubernetes service account of the workers (infra/k8s uses driftline-worker)."
  type        = string
  default     = "driftline-worker"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default = {
    "app" = "driftline"
  }
}
